import argparse

from django.core.management.base import BaseCommand, CommandError

from riskreg.demo.synthetic import GenerateError, Plan, generate


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0 or value > 10_000_000:
        raise argparse.ArgumentTypeError(f"{value} is out of range (0 to 10,000,000)")
    return value


class Command(BaseCommand):
    help = (
        "Generate synthetic models, evaluations, risks, decisions and audit events, with their history, "
        "reproducibly from --seed. Needs the framework data of seed_demo. All or nothing: on error nothing is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--models", type=_count, default=10)
        parser.add_argument("--evaluations", type=_count, default=1000)
        parser.add_argument("--risks", type=_count, default=100)
        parser.add_argument("--decisions", type=_count, default=50)
        parser.add_argument(
            "--events", type=_count, default=0,
            help="audit events the chain should hold at the end; evaluations are re-scored to make up the rest",
        )  # fmt: skip
        parser.add_argument("--seed", type=_count, default=1)

    def handle(self, *args, **options):
        names = ("models", "evaluations", "risks", "decisions", "events", "seed")
        plan = Plan(**{name: options[name] for name in names})
        try:
            result = generate(plan, stream=self.stderr._out)
        except GenerateError as error:
            raise CommandError(str(error)) from None
        summary = ", ".join(f"{count:,} {name}" for name, count in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Generated (seed {plan.seed}): {summary}."))
