from django.core.management.base import BaseCommand, CommandError

from riskreg.audit import signing
from riskreg.audit.merkle import TreeError, make_checkpoint, trusted
from riskreg.audit.models import AuditCheckpoint
from riskreg.audit.verify import NoteError


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit trail's Merkle tree as it stands now (C2SP tlog-checkpoint, "
        "signed-note, Ed25519), store it, and print the signed note. Run it from cron; "
        "--show N prints a stored checkpoint, --list lists them."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--show", type=int, metavar="N", help="print stored checkpoint N")
        group.add_argument("--list", action="store_true", help="list the stored checkpoints")

    def handle(self, *args, show=None, list=False, **options):
        if list:
            keys = signing.verifier_keys()
            for checkpoint in AuditCheckpoint.objects.order_by("id"):
                demo = " (demo key)" if checkpoint.demo_key else ""
                try:
                    trusted(checkpoint, keys)
                except NoteError as error:
                    demo += f"\tNOT TRUSTED: {error}"
                self.stdout.write(f"{checkpoint.pk}\t{checkpoint.tree_size} events\t"
                                  f"{checkpoint.made_at:%Y-%m-%d %H:%M} UTC\t{checkpoint.key_name}{demo}")  # fmt: skip
            return
        if show is not None:
            checkpoint = AuditCheckpoint.objects.filter(pk=show).first()
            if checkpoint is None:
                raise CommandError(f"There is no checkpoint {show} (--list lists them).")
            try:
                trusted(checkpoint)
            except NoteError as error:
                raise CommandError(f"Checkpoint row {show} is not trusted: {error}. (Planted or altered: "
                                   "manage.py verify_audit names such rows.)") from None  # fmt: skip
            self.stdout.write(checkpoint.note, ending="")
            return
        try:
            checkpoint, made = make_checkpoint()
        except (signing.KeyUnavailable, TreeError) as error:
            raise CommandError(str(error)) from None
        for problem in checkpoint.problems:
            self.stderr.write(f"Warning: {problem}. Run manage.py verify_audit.")
        if not made:
            self.stderr.write(f"Nothing appended since checkpoint {checkpoint.pk}; it still stands:")
        else:
            self.stderr.write(f"Checkpoint {checkpoint.pk}: {checkpoint.tree_size} events.")
        self.stdout.write(checkpoint.note, ending="")
