"""Django's createsuperuser, writing the user in one transaction: users are tracked (history and audit)."""

from django.contrib.auth.management.commands import createsuperuser
from django.db import transaction


class Command(createsuperuser.Command):
    help = createsuperuser.Command.help + " The new account gets a history row and an audit event."

    @transaction.atomic
    def handle(self, *args, **options):
        return super().handle(*args, **options)
