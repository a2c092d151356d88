"""Each person's own signing key: a sign-off carries proof of its signer's authentication (issue 27).

Without it, anyone holding the app's database role could write sign-offs "by" both approvers through the
app's own code (`lifecycle.sign` in a shell), and they passed `verify_audit` and the gate. Now a sign-off
made through the pages is signed with the signer's own Ed25519 key. The key is random; its private half
is kept only wrapped (AES-256-GCM) under a key derived from the signer's password (PBKDF2-HMAC-SHA256
with the key's own salt), so it is opened only by the password typed on the confirmation page. The
public half is in the trail, so anyone can check a signature offline; the wrapped half, its salt and
iterations are not (like a password hash, they would let anyone holding them test guessed passwords).

What it closes, and what it does not (SECURITY.md, "Known limits"):
- Code holding only the app's role cannot sign with someone's existing key: the password is stored
  nowhere. A sign-off without a valid signature by its signer's key does not count.
- It can enrol a new key for someone, as the app's own code does when a password is set (or swap the
  password hash with SQL and sign on the page, which enrols one at signing). Each enrolment is an event
  in the trail, and `verify_audit` names every sign-off made with a key enrolled after its decision was
  written. Preventing it needs the key on the signer's own device (passkeys, with single sign-on).
"""

import base64
import hashlib
import json
import secrets

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

SIGNATURE_CONTEXT = "riskreg sign-off v1"


class SignerKey(models.Model):
    """One key a person signs with; the newest one is in force. Never edited: a new password is a new key,
    and the old ones stay to check the signatures made with them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signer_keys")
    public_key = models.CharField(max_length=44, help_text="Ed25519 public key, base64 (32 bytes).")
    wrapped = models.CharField(max_length=80, help_text="The private key, AES-256-GCM under the password's key.")
    salt = models.CharField(max_length=32, help_text="Salt of the wrapping key's derivation (hex).")
    iterations = models.PositiveIntegerField(help_text="PBKDF2-HMAC-SHA256 iterations of that derivation.")
    enrolled_at = models.DateTimeField(default=timezone.now)

    # The wrapped key, its salt and iterations test guessed passwords as a password hash does: never in
    # history, events or exports (the trail is read by auditors and witnesses, and never forgets).
    history = HistoricalRecords(excluded_fields=["wrapped", "salt", "iterations"])
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

    def _aad(self) -> bytes:
        return f"riskreg signer key|{self.user_id}|{self.public_key}".encode()

    def open(self, password: str) -> Ed25519PrivateKey | None:
        """The private key, if `password` is the one it was wrapped with."""
        try:
            blob = base64.b64decode(self.wrapped, validate=True)
            raw = AESGCM(_wrapping_key(password, self.salt, self.iterations)).decrypt(blob[:12], blob[12:],
                                                                                      self._aad())  # fmt: skip
            return Ed25519PrivateKey.from_private_bytes(raw)
        except (InvalidTag, ValueError):
            return None


class Unlocked:
    """A signing key opened by its holder's password, for the length of one request."""

    def __init__(self, key: SignerKey, private: Ed25519PrivateKey):
        self.key, self._private = key, private

    def sign(self, statement: bytes) -> str:
        return base64.b64encode(self._private.sign(statement)).decode()


class WrongPassword(Exception):
    """The password typed does not open the signer's key (or is not their password)."""


def _wrapping_key(password: str, salt: str, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), iterations, dklen=32)


def _public_b64(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _enrol(user, password: str, by, reason: str) -> Unlocked:
    private = Ed25519PrivateKey.generate()
    key = SignerKey(user=user, public_key=_public_b64(private), salt=secrets.token_hex(16),
                    iterations=settings.SIGNER_KEY_ITERATIONS)  # fmt: skip
    nonce = secrets.token_bytes(12)
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sealed = AESGCM(_wrapping_key(password, key.salt, key.iterations)).encrypt(nonce, raw, key._aad())
    key.wrapped = base64.b64encode(nonce + sealed).decode()
    # Who enrolled it: `by`, or whoever the save that set the password names; else simple_history's request
    # user (an admin resetting a password is the admin, not the key's holder), or nobody from a shell.
    actor = by if by is not None else getattr(user, "_history_user", None)
    if actor is not None:
        key._history_user = actor
    key._change_reason = reason
    with transaction.atomic():
        key.save()
    return Unlocked(key, private)


def enrol(user, password: str, by=None, reason: str = "signing key from a new password") -> SignerKey:
    """A new key for `user`, opened by `password` from now on."""
    return _enrol(user, password, by, reason).key


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
        private = key.open(password)
        if private is not None:
            return Unlocked(key, private)
    return _enrol(user, password, by=user, reason="signing key enrolled at signing")


def one_time_key(user, by, reason: str) -> Unlocked:
    """A key wrapped under a secret made here and forgotten: for the demo's placeholder signers, who have
    no password. Its enrolment is in the trail, by `by`, as any enrolment is."""
    return _enrol(user, secrets.token_urlsafe(32), by, reason)


def statement(*, decision_id: int, digest: str, content_version: int, title_id: int, verdict: str, kind: str,
              signer_id: int, comment: str) -> bytes:  # fmt: skip
    """What a signer's key signs: who signs what, for which title, and how, in which deployment (the audit
    log's origin: a signature made on a staging copy does not verify in production); canonical JSON."""
    body = {
        "context": SIGNATURE_CONTEXT, "origin": settings.AUDIT_ORIGIN, "decision": decision_id, "digest": digest,
        "content_version": content_version, "title": title_id, "verdict": verdict, "kind": kind, "signer": signer_id,
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
