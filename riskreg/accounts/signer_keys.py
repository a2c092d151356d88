"""Each person's own signing key: a sign-off carries proof of its signer's authentication (issue 27).

Without it, anyone holding the app's database role could write sign-offs "by" both approvers through the
app's own code (`lifecycle.sign` in a shell), and they passed `verify_audit` and the gate: history and
events were written as for a real signature. Now a sign-off made through the pages is signed with an
Ed25519 key that only the signer's password opens: its private half is derived from the password they
type on the confirmation page (PBKDF2-HMAC-SHA256 with the key's own salt) and never stored. The public
half is kept with its history, so the signature can be checked by anyone, offline.

What it closes, and what it does not (SECURITY.md, "Known limits"):
- The app role cannot produce a signature for an existing key: the password is stored nowhere, and the
  password hash does not open the key. A forged sign-off has no valid signature, and the gate does not
  count it.
- The app role can enrol a new key for someone (the app's own code runs the enrolment when a password is
  set, as an admin resets one). That is a new key, in the trail as an event: `verify_audit` names every
  sign-off made with a key enrolled after its decision went to review, and a witness of an earlier
  checkpoint holds the key as it was.
- A running server that an attacker controls sees passwords as they are typed: single sign-on with
  passkeys (a later issue) moves the key to the signer's own device.
"""

import base64
import hashlib
import hmac
import json
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

SIGNATURE_CONTEXT = "riskreg sign-off v1"


class SignerKey(models.Model):
    """One public key a person signs with; the newest one is in force. Never edited: a new password is a
    new key, and the old ones stay to check the signatures made with them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signer_keys")
    public_key = models.CharField(max_length=44, help_text="Ed25519 public key, base64 (32 bytes).")
    salt = models.CharField(max_length=32, help_text="Salt of the key's derivation from the password (hex).")
    iterations = models.PositiveIntegerField(help_text="PBKDF2-HMAC-SHA256 iterations of the derivation.")
    enrolled_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()
    _history_user: object
    _change_reason: str

    class Meta:
        app_label = "accounts"
        ordering = ["user", "enrolled_at", "id"]

    def __str__(self) -> str:
        return f"signing key of {self.user} enrolled {self.enrolled_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A signing key never changes: a new password enrols a new key.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A signing key is never deleted: the signatures made with it are checked against it.")

    def verifies(self, statement: bytes, signature: str) -> bool:
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(self.public_key, validate=True))
            public.verify(base64.b64decode(signature, validate=True), statement)
        except (InvalidSignature, ValueError):
            return False
        return True


class Unlocked:
    """A signing key opened by its holder's password, for the length of one request."""

    def __init__(self, key: SignerKey, private: Ed25519PrivateKey):
        self.key, self._private = key, private

    def sign(self, statement: bytes) -> str:
        return base64.b64encode(self._private.sign(statement)).decode()


class WrongPassword(Exception):
    """The password typed does not open the signer's key (or is not their password)."""


def _derive(password: str, salt: str, iterations: int) -> Ed25519PrivateKey:
    seed = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), iterations, dklen=32)
    return Ed25519PrivateKey.from_private_bytes(seed)


def _public_b64(private: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return base64.b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def enrol(user, password: str, by=None, reason: str = "signing key from a new password") -> SignerKey:
    """A new key for `user`, opened by `password` from now on."""
    salt = secrets.token_hex(16)
    iterations = settings.SIGNER_KEY_ITERATIONS
    key = SignerKey(user=user, public_key=_public_b64(_derive(password, salt, iterations)), salt=salt,
                    iterations=iterations)  # fmt: skip
    # Who enrolled it: `by`, or whoever the save that set the password names; else simple_history's request
    # user (an admin resetting a password is the admin, not the key's holder), or nobody from a shell.
    actor = by if by is not None else getattr(user, "_history_user", None)
    if actor is not None:
        key._history_user = actor
    key._change_reason = reason
    with transaction.atomic():
        key.save()
    return key


def current(user) -> SignerKey | None:
    return SignerKey.objects.filter(user=user).order_by("-enrolled_at", "-id").first()


def unlock(user, password: str) -> Unlocked:
    """The signer's key, opened by the password they typed now: a fresh authentication.

    The password is checked against the account first. A key that this password does not open (the
    password was set before signing keys existed, or outside the app) is replaced by a new one, which
    the trail records."""
    if not password or not user.check_password(password):
        raise WrongPassword("That is not your password: nothing was signed.")
    key = current(user)
    if key is not None:
        private = _derive(password, key.salt, key.iterations)
        if hmac.compare_digest(_public_b64(private), key.public_key):
            return Unlocked(key, private)
    key = enrol(user, password, by=user, reason="signing key enrolled at signing")
    return Unlocked(key, _derive(password, key.salt, key.iterations))


def one_time_key(user, by, reason: str) -> Unlocked:
    """A key from a secret made here and forgotten once this object goes: for the demo's placeholder
    signers, who have no password. Its enrolment is in the trail, by `by`, as any enrolment is."""
    secret = secrets.token_urlsafe(32)
    key = enrol(user, secret, by=by, reason=reason)
    return Unlocked(key, _derive(secret, key.salt, key.iterations))


def statement(*, decision_id: int, digest: str, content_version: int, title_id: int, verdict: str, kind: str,
              signer_id: int, comment: str) -> bytes:  # fmt: skip
    """What a signer's key signs: who signs what, for which title, and how; canonical JSON."""
    body = {
        "context": SIGNATURE_CONTEXT, "decision": decision_id, "digest": digest, "content_version": content_version,
        "title": title_id, "verdict": verdict, "kind": kind, "signer": signer_id,
        "comment_sha256": hashlib.sha256(comment.encode()).hexdigest(),
    }  # fmt: skip
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def enrol_on_password_change(sender, instance, **kwargs):
    """post_save of a user: a save that set a new password (admin, changepassword, set_user, the settings
    page, seed_demo) still holds it in `_password` here — the one moment the app has it — so the new
    password opens a new key. Django clears `_password` right after this signal."""
    password = getattr(instance, "_password", None)
    if password:
        enrol(instance, password)
