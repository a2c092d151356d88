from django.db import migrations

from riskreg.lib.dbtriggers import run_for_vendor, same_category_trigger

MESSAGE = "The threshold belongs to another threat category than the determination."
SQL = same_category_trigger("decisions_determination", MESSAGE)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0001_initial"), ("frameworks", "0001_initial")]

    operations = [migrations.RunPython(run_for_vendor(SQL), run_for_vendor(SQL, backwards=True))]
