from django.db import migrations


def revoke_tokens_of_inactive_users(apps, schema_editor):
    """Tokens of users deactivated before deactivation revoked them (issue 27): revoked now, each in the trail.

    Through the real model, as riskreg/audit/chain.py asks (a historical model has no history); the
    historical one only looks first, so a fresh database never reads through today's model.
    """
    if not apps.get_model("accounts", "ApiToken").objects.filter(
        revoked_at__isnull=True, user__is_active=False
    ).exists():
        return
    from riskreg.accounts.models import ApiToken
    from riskreg.accounts.signals import DEACTIVATED

    for token in ApiToken.objects.filter(revoked_at__isnull=True, user__is_active=False).order_by("pk"):
        token.revoke(by=None, reason=DEACTIVATED + " (accounts 0009)")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0008_api_token_name"),
    ]

    operations = [
        migrations.RunPython(revoke_tokens_of_inactive_users, migrations.RunPython.noop),
    ]
