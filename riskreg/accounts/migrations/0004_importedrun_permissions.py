from django.db import migrations

from riskreg.accounts.roles import apply_roles


class Migration(migrations.Migration):
    """Every role reads the provenance of imported evaluations."""

    dependencies = [("accounts", "0003_api_tokens"), ("evaluations", "0004_imported_run")]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
