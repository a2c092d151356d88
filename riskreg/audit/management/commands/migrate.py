from django.core.management.commands.migrate import Command as MigrateCommand

from riskreg.lib.dbroles import as_owner


class Command(MigrateCommand):
    help = (
        MigrateCommand.help
        + " Connects as the owner role of MIGRATE_DATABASE_URL when it is set, and afterwards grants the "
        "app's role (DATABASE_URL) exactly the rights it needs."
    )

    def handle(self, *args, **options):
        # The grants run in the audit app's post_migrate handler, still as the owner.
        with as_owner(options["database"]):
            return super().handle(*args, **options)
