"""Accounts in the trail, and per-user API tokens for release pipelines that ask the gate before they ship.

Users are tracked like every domain record (below): their names, email, activation, staff and
superuser flags, groups and direct permissions get history rows and audit events, through the admin,
commands and the settings page alike. Their password hash and last log-in never do.

Only a SHA-256 of each token is stored; the token itself is shown once, when it is made. Neither
that hash nor the token's first characters enter history, events, pages or exports: a token is
known there by its id and name only.
"""

import hashlib
import secrets
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, models, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

from riskreg.lib.dates import day_and_time

TOKEN_PREFIX = "rr_"


class UserHistory(HistoricalRecords):
    """History of users, which live in django.contrib.auth, kept in this app.

    A save that writes only untracked fields (Django's log-in stamps `last_login` with
    update_fields) is no change to the record and writes no history row.
    """

    def post_save(self, instance, created, using=None, update_fields=None, **kwargs):
        if not created and update_fields and set(update_fields) <= set(self.excluded_fields):
            return
        super().post_save(instance, created, using=using, **kwargs)


# Not the password hash (a secret) nor last_login (a log-in is not a change of the account).
USER_HISTORY = UserHistory(
    app="accounts", excluded_fields=["password", "last_login"], m2m_fields=["groups", "user_permissions"]
)
USER_HISTORY.manager_name = "history"
USER_HISTORY.module = __name__
USER_HISTORY.cls = User
USER_HISTORY.add_extra_methods(User)
USER_HISTORY.finalize(User)  # what simple_history.register does, with the history model in this app

# Groups are the roles: their name and permissions are tracked the same way (issue 27).
GROUP_HISTORY = HistoricalRecords(app="accounts", m2m_fields=["permissions"])
GROUP_HISTORY.manager_name = "history"
GROUP_HISTORY.module = __name__
GROUP_HISTORY.cls = Group
GROUP_HISTORY.add_extra_methods(Group)
GROUP_HISTORY.finalize(Group)


def system_account(username: str, name: str) -> User:
    """The inactive account that writes what a loader or a command records (no password can log in as it)."""
    with transaction.atomic():
        account, created = User.objects.get_or_create(username=username, defaults={"first_name": name,
                                                                                   "is_active": False})
        if created:
            account.set_unusable_password()
            account.save(update_fields=["password"])
    return account


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
        verbose_name = "API token"

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

    def revoke(self, by, reason: str = "") -> None:
        """Revoke for good; `by` None leaves the acting user to the request, as any write's history does."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            if by is not None:
                self._history_user = by
            self._change_reason = reason
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
        return f"{self.username or '—'} from {self.address or 'unknown'} at {day_and_time(self.at)}"

    # The throttle's rule, in one place: a username that failed LOGIN_FAILURE_LIMIT times within the
    # window, or an address that failed four times as often, is refused until the window has passed.
    # Names are counted as the log-in matches them (throttle_name), and each attempt is counted as a
    # failure before its password is checked (reserve), so parallel guesses cannot overtake the count.

    @staticmethod
    def clean_username(value: str) -> str:
        return value.replace("\x00", "")[:150]  # PostgreSQL text holds no NUL

    @classmethod
    def throttle_name(cls, normalised: str) -> str:
        """The name a failure counts against: the account the authentication backend would find for
        `normalised` (the log-in form's own cleaning of the typed name: stripped, NFKC), so every
        spelling that logs in as one account shares its count, whatever the database's collation."""
        name = cls.clean_username(normalised)
        try:
            return User._default_manager.get_by_natural_key(name).get_username()
        except (User.DoesNotExist, User.MultipleObjectsReturned):
            return name

    @classmethod
    def reserve(cls, username: str, address: str | None) -> "LoginFailure | None":
        """Count an attempt as a failure before its password is checked: the reservation, or None when
        the name or the address is throttled (nothing counted: a refused attempt checks nothing).

        The count and the insert are one step under one lock (_one_at_a_time), committed before the
        password is checked when the caller is outside a transaction (the log-in view is), so N
        parallel attempts see each other and at most the limit reach a password check. A successful
        log-in gives its reservation back (delete it).
        """
        since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        limit = settings.LOGIN_FAILURE_LIMIT
        with _one_at_a_time():
            cls.objects.filter(at__lt=since).delete()  # what the window no longer counts
            failures = cls.objects.filter(at__gte=since)
            if failures.filter(username=username).count() >= limit or bool(
                address and failures.filter(address=address).count() >= 4 * limit
            ):
                return None
            return cls.objects.create(username=username, address=address or None)


THROTTLE_LOCK = 0x72726C74  # "rrlt": the advisory lock that orders the log-in throttle's count-and-insert


@contextmanager
def _one_at_a_time():
    """A transaction that no other one passing through here overlaps: the throttle's count-and-insert.

    PostgreSQL: a transaction-level advisory lock. SQLite: the database's write lock, taken at the
    start (BEGIN IMMEDIATE): a deferred transaction reads before it writes, and two of them at once
    deadlock, which SQLite answers with "database is locked" at once instead of waiting.
    """
    immediate = connection.vendor == "sqlite" and not connection.in_atomic_block
    if immediate:
        connection.ensure_connection()  # connecting would reset the mode from the settings
        mode = connection.transaction_mode  # SQLite's wrapper only
        connection.transaction_mode = "IMMEDIATE"
    try:
        with transaction.atomic():
            if immediate:
                connection.transaction_mode = mode  # the BEGIN is sent
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [THROTTLE_LOCK])
            yield
    finally:
        if immediate:
            connection.transaction_mode = mode


from .signer_keys import SignerKey  # noqa: E402,F401  (each person's signing key: its model lives with its rules)
