"""Per-user API tokens, for release pipelines that ask the gate before they ship.

Only a SHA-256 of each token is stored; the token itself is shown once, when it is made. Neither
that hash nor the token's first characters enter history, events, pages or exports: a token is
known there by its id and name only.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

TOKEN_PREFIX = "rr_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)

    def user_for(self, raw: str):
        """The active user a presented token belongs to, or None."""
        if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        token = self.active().select_related("user").filter(key_hash=hash_token(raw)).first()
        return token.user if token else None


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'release pipeline'.")
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()
    # Secrets stay out of the trail, which auditors read and export: creation and revocation are
    # recorded by id, name, owner and times.
    history = HistoricalRecords(excluded_fields=["key_hash", "prefix"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (token #{self.pk})"

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """A new token for `user`; returns the record and the token, which is never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, prefix=raw[:10], key_hash=hash_token(raw))
        token._history_user = user
        with transaction.atomic():
            token.save()
        return token, raw

    def revoke(self, by) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self._history_user = by
            with transaction.atomic():
                self.save()


class LoginFailure(models.Model):
    """A failed log-in, kept only to limit the rate of guesses (accounts/views.ThrottledLoginView).

    Not a record of the domain: no history, and rows older than the window are deleted as new ones come.
    """

    username = models.CharField(max_length=150)
    address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="loginfailure_user_at"),  # failures for a username
            models.Index(fields=["address", "at"], name="loginfailure_addr_at"),  # failures from an address
        ]

    def __str__(self) -> str:
        return f"{self.username or '—'} from {self.address or 'unknown'} at {self.at:%Y-%m-%d %H:%M}"
