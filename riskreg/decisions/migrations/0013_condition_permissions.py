from django.db import migrations

from riskreg.accounts.roles import apply_roles


class Migration(migrations.Migration):
    """Evaluators write a draft's conditions for re-review, as they write its determinations."""

    dependencies = [("decisions", "0012_reasons_for_proceeding"), ("filings", "0002_compliance_role")]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
