from django.db import migrations

from riskreg.lib.dbtriggers import run_for_vendor, same_category_trigger

MESSAGE = "The threshold belongs to another threat category than the evaluation."
SQL = same_category_trigger("evaluations_evaluation", MESSAGE)


class Migration(migrations.Migration):
    dependencies = [("evaluations", "0001_initial"), ("frameworks", "0001_initial")]

    operations = [migrations.RunPython(run_for_vendor(SQL), run_for_vendor(SQL, backwards=True))]
