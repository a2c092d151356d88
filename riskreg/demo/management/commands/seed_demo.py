from django.conf import settings
from django.core.management.base import BaseCommand

from riskreg.demo.loader import DEMO_PASSWORD, DemoSeeder


class Command(BaseCommand):
    help = (
        "Load the demo data: the reference safety frameworks and the Claude Mythos Preview system card. "
        "Safe to run twice. With DEBUG on it also creates one demo login per role."
    )

    def handle(self, *args, **options):
        report = DemoSeeder().run(with_accounts=settings.DEBUG)
        if report.total_created:
            detail = ", ".join(f"{count} {name}" for name, count in sorted(report.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Created {report.total_created} records: {detail}."))
        else:
            self.stdout.write("Nothing to create: the demo data is already loaded.")
        if report.kept:
            self.stdout.write(f"Kept {report.kept} existing records as they are.")
        if report.checkpoint is not None:
            demo = " with the DEMO key (make a real one: manage.py audit_keygen)" if report.checkpoint.demo_key else ""
            self.stdout.write(f"The trail ends with signed checkpoint {report.checkpoint.pk}: "
                              f"{report.checkpoint.tree_size} events{demo}.")  # fmt: skip
        if report.accounts:
            self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
            for username, role in report.accounts:
                self.stdout.write(f"  {username:<10} {role}")
        elif not settings.DEBUG:
            self.stdout.write(
                "DEBUG is off: no demo logins were created (a login with a known password has no place "
                "on a shared database). For a local demo, run with DEBUG=1, as `make run` does; "
                "otherwise create an administrator with `manage.py createsuperuser`."
            )
