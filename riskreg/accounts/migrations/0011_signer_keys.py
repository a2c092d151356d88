"""Each person's signing key (accounts/signer_keys.py, issue 27): a sign-off carries its signer's signature.

On PostgreSQL a key never changes once enrolled, even by the app's role: a new password is a new key, and
the signatures made with an old one are checked against it as it was.
"""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

FORWARDS = [
    """CREATE FUNCTION accounts_signerkey_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'signing key %: % refused, a signing key never changes (a new password enrols a new one)',
        OLD.id, TG_OP USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER accounts_signerkey_immutable BEFORE UPDATE OR DELETE ON accounts_signerkey
FOR EACH ROW EXECUTE FUNCTION accounts_signerkey_immutable()""",
]
BACKWARDS = [
    "DROP TRIGGER IF EXISTS accounts_signerkey_immutable ON accounts_signerkey",
    "DROP FUNCTION IF EXISTS accounts_signerkey_immutable()",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARDS:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARDS:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0010_groups_tracked'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalSignerKey',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('public_key', models.CharField(help_text='Ed25519 public key, base64 (32 bytes).', max_length=44)),
                ('enrolled_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical signer key',
                'verbose_name_plural': 'historical signer keys',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='SignerKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_key', models.CharField(help_text='Ed25519 public key, base64 (32 bytes).', max_length=44)),
                ('wrapped', models.CharField(help_text="The private key, AES-256-GCM under the password's key.", max_length=80)),
                ('salt', models.CharField(help_text="Salt of the wrapping key's derivation (hex).", max_length=32)),
                ('iterations', models.PositiveIntegerField(help_text='PBKDF2-HMAC-SHA256 iterations of that derivation.')),
                ('enrolled_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signer_keys', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['user', 'enrolled_at', 'id'],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
