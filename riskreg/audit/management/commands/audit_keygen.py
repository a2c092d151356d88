from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from riskreg.audit import signing
from riskreg.audit.merkle import origin


class Command(BaseCommand):
    help = (
        "Make a new Ed25519 key for signing the audit trail's checkpoints. Writes the private key to the "
        "file named by AUDIT_SIGNING_KEY (owner-readable only; never into the database) and prints the "
        "verifier key to hand to witnesses and auditors."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", help="the key's name (default: AUDIT_ORIGIN, e.g. example.org/audit)")
        parser.add_argument("--replace", action="store_true",
                            help="write over an existing key (keep the old verifier key: old checkpoints need it)")

    def handle(self, *args, name=None, replace=False, **options):
        path = signing.key_path()
        if path is None:
            raise CommandError("Set AUDIT_SIGNING_KEY to the file the key should be written to.")
        try:
            key = signing.generate(name or origin())
        except ValueError as error:
            raise CommandError(str(error)) from None
        try:
            signing.write(key, Path(path), replace=replace)
        except FileExistsError:
            raise CommandError(f"A key already exists at {path}; nothing written (--replace to replace it).") from None
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}") from None
        self.stderr.write(f"Private key written to {path} (keep a copy offline). The verifier key:")
        self.stdout.write(key.verifier_key)
