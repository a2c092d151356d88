from django.db import migrations

from riskreg.accounts.roles import apply_roles


class Migration(migrations.Migration):
    """Auditors read and export the audit trail."""

    dependencies = [("accounts", "0001_roles"), ("audit", "0002_chain_head")]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
