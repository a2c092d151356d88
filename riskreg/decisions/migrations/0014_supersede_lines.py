"""A decision may be superseded by more than one draft over time (issue 27, finding 4).

`supersedes` was one-to-one, so a rejected superseding draft held the only place: its revision lost
the link (and, once approved, left two approved decisions that both passed the gate), and the
approved decision refused any new supersede. Only the unique index goes; no row changes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('decisions', '0013_condition_permissions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalreleasedecision',
            name='supersedes',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The approved decision this one replaces once it is approved itself.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='decisions.releasedecision'),
        ),
        migrations.AlterField(
            model_name='releasedecision',
            name='supersedes',
            field=models.ForeignKey(blank=True, help_text='The approved decision this one replaces once it is approved itself.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='superseders', to='decisions.releasedecision'),
        ),
    ]
