from django.core.management.base import BaseCommand

from riskreg.audit.models import GENESIS_HASH, AuditHead


class Command(BaseCommand):
    help = (
        "Print the audit chain's head as SEQ:HASH. Publish it somewhere the server cannot rewrite; "
        "verify.py --head SEQ:HASH then catches an export cut short."
    )

    def handle(self, *args, **options):
        head = AuditHead.objects.filter(pk=1).first()
        seq, digest = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        self.stdout.write(f"{seq}:{digest}")
