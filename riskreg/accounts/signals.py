"""What a change of an account brings with it, on every write path (admin, set_user, the shell)."""

from django.contrib.auth.models import User
from django.db.models.signals import post_save

DEACTIVATED = "revoked: its user was deactivated"


def revoke_tokens_of_inactive_users(sender, instance, created=False, update_fields=None, **kwargs):
    """A deactivated user's API tokens are revoked, each in the trail, by whoever deactivated them.

    The token check refuses an inactive user's token anyway; revoking it means that a reactivated
    account does not bring its old tokens back: they were out of their owner's hands meanwhile.
    """
    if instance.is_active or (update_fields and "is_active" not in update_fields):
        return
    for token in instance.api_tokens.filter(revoked_at__isnull=True):
        token.revoke(by=getattr(instance, "_history_user", None), reason=DEACTIVATED)


def connect() -> None:
    from .signer_keys import enrol_on_password_change

    post_save.connect(revoke_tokens_of_inactive_users, sender=User, dispatch_uid="riskreg.accounts.revoke_tokens")
    post_save.connect(enrol_on_password_change, sender=User, dispatch_uid="riskreg.accounts.signer_key")
