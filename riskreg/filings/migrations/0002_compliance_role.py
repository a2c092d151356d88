from django.db import migrations

from riskreg.accounts.roles import apply_roles


class Migration(migrations.Migration):
    """Compliance officers keep the incident register and the crosswalk; every role reads them."""

    dependencies = [("filings", "0001_incidents_and_crosswalk"), ("accounts", "0008_api_token_name")]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
