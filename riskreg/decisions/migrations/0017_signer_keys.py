"""A sign-off's signature by its signer's own key, and the key it was made with (issue 27)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_signer_keys'),
        ('decisions', '0016_one_line_fields'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalsignoff',
            name='signature',
            field=models.CharField(blank=True, help_text='Ed25519 signature, base64.', max_length=88),
        ),
        migrations.AddField(
            model_name='historicalsignoff',
            name='signer_key',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.signerkey'),
        ),
        migrations.AddField(
            model_name='signoff',
            name='signature',
            field=models.CharField(blank=True, help_text='Ed25519 signature, base64.', max_length=88),
        ),
        migrations.AddField(
            model_name='signoff',
            name='signer_key',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.signerkey'),
        ),
    ]
