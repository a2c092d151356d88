from django.db import migrations

from riskreg.accounts.roles import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("frameworks", "0001_initial"),
        ("evaluations", "0002_threshold_category_trigger"),
        ("risks", "0001_initial"),
        ("decisions", "0002_threshold_category_trigger"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
