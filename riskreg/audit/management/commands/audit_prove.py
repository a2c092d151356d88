from django.core.management.base import BaseCommand, CommandError

from riskreg.audit.merkle import TreeError, consistency_document, covering, inclusion_document
from riskreg.audit.models import AuditCheckpoint


class Command(BaseCommand):
    help = (
        "Print an inclusion proof that event SEQ is in a signed checkpoint (the newest that holds it, or "
        "--checkpoint N), or with --consistency OLD NEW a proof that checkpoint NEW extends checkpoint OLD. "
        "Check either offline: python3 verify.py inclusion FILE --key KEY, or python3 verify.py consistency FILE "
        "--key KEY --kept OLD.txt (the copy of checkpoint OLD the witness kept)."
    )

    def add_arguments(self, parser):
        parser.add_argument("seq", nargs="?", type=int, help="the event's sequence number")
        parser.add_argument("--checkpoint", type=int, metavar="N", help="prove against checkpoint N")
        parser.add_argument("--consistency", nargs=2, type=int, metavar=("OLD", "NEW"),
                            help="prove checkpoint NEW extends checkpoint OLD")  # fmt: skip

    def handle(self, *args, seq=None, checkpoint=None, consistency=None, **options):
        try:
            if consistency:
                found = {c.pk: c for c in AuditCheckpoint.objects.filter(pk__in=consistency)}
                missing = [n for n in consistency if n not in found]
                if missing:
                    raise CommandError(f"There is no checkpoint {missing[0]} (audit_checkpoint --list).")
                self.stdout.write(consistency_document(found[consistency[0]], found[consistency[1]]), ending="")
                return
            if seq is None:
                raise CommandError("Give an event's sequence number, or --consistency OLD NEW.")
            if checkpoint is not None:
                target = AuditCheckpoint.objects.filter(pk=checkpoint).first()
                if target is None:
                    raise CommandError(f"There is no checkpoint {checkpoint} (audit_checkpoint --list).")
                if target.tree_size < seq:
                    raise CommandError(f"Checkpoint {checkpoint} holds events 1–{target.tree_size}, not {seq}.")
            else:
                target = covering(seq)
                if target is None:
                    raise CommandError(f"No checkpoint holds event {seq} yet: run manage.py audit_checkpoint.")
            self.stdout.write(inclusion_document(seq, target), ending="")
        except TreeError as error:
            raise CommandError(str(error)) from None
