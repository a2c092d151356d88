from django.db import migrations

from riskreg.accounts.roles import apply_roles


class Migration(migrations.Migration):
    """Compliance officers issue filings; they and auditors read the unredacted copies."""

    dependencies = [("filings", "0003_filings_issued"), ("decisions", "0013_condition_permissions")]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
