"""The key that signs the trail's checkpoints: Ed25519, in the key formats of Go's sumdb/note.

The private key lives in the file named by the AUDIT_SIGNING_KEY setting (environment variable of
the same name), never in the database or on a page. The file holds one line,
`PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>`, after optional `#` comment lines;
a demo key says so in its first comment. The verifier key anyone may hold is
`<name>+<hex key id>+<base64(0x01 ‖ public key)>`, with key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public
key)[:4] (C2SP signed-note).

Checkpoints are checked against verifier keys from configuration only, never from the database (the
app's role may insert checkpoint rows, so a key stored beside them vouches for nothing): the key
file's own, AUDIT_VERIFIER_KEY (the published key, for a server or witness that holds no private key),
and AUDIT_OLD_VERIFIER_KEYS (keys retired by `audit_keygen --replace`, so their checkpoints still
verify).
"""

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from .verify import DASH, ED25519, NoteError, check_note, key_id, parse_verifier_key, split_note, valid_key_name

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PRIVATE_PREFIX = "PRIVATE+KEY+"
DEMO_MARK = "# riskreg DEMO key, made by seed_demo: never use it to sign a real trail"


class KeyUnavailable(Exception):
    """No signing key can be read: the message says which file and what to do."""


@dataclass(frozen=True)
class SigningKey:
    name: str
    seed: bytes
    demo: bool = False

    def _private(self) -> "Ed25519PrivateKey":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self._private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def verifier_key(self) -> str:
        raw = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{raw}"

    def file_text(self) -> str:
        raw = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        comment = DEMO_MARK if self.demo else "# riskreg audit signing key: keep it secret, keep a copy offline"
        return f"{comment}\n{PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{raw}\n"

    def sign_note(self, text: str) -> str:
        """A C2SP signed note: the text (ending in a newline), a blank line, and this key's signature line."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self._private().sign(text.encode())
        return f"{text}\n{DASH} {self.name} {base64.b64encode(self.key_id + signature).decode()}\n"


def generate(name: str, demo: bool = False) -> SigningKey:
    if not valid_key_name(name):
        raise ValueError("A key name is printable, with no spaces and no '+': e.g. example.org/riskreg-audit.")
    return SigningKey(name, os.urandom(32), demo)


def parse(text: str) -> SigningKey:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    demo = DEMO_MARK in lines
    keys = [line for line in lines if not line.startswith("#")]
    if len(keys) != 1 or not keys[0].startswith(PRIVATE_PREFIX):
        raise KeyUnavailable("the key file does not hold one PRIVATE+KEY+… line")
    parts = keys[0].removeprefix(PRIVATE_PREFIX).split("+", 2)  # base64 may hold "+"
    try:
        raw = base64.b64decode(parts[2], validate=True) if len(parts) == 3 else b""
    except ValueError:
        raw = b""
    if len(parts) != 3 or not valid_key_name(parts[0]) or len(raw) != 33 or raw[0] != ED25519:
        raise KeyUnavailable("the key file's PRIVATE+KEY line is not an Ed25519 key")
    key = SigningKey(parts[0], raw[1:], demo)
    if key.key_id.hex() != parts[1].lower():
        raise KeyUnavailable("the key file's key id does not match its key")
    return key


def key_path() -> Path | None:
    value = getattr(settings, "AUDIT_SIGNING_KEY", "")
    return Path(value) if value else None


def load() -> SigningKey:
    path = key_path()
    if path is None:
        raise KeyUnavailable("No signing key is set: set AUDIT_SIGNING_KEY to a file and run manage.py audit_keygen.")
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyUnavailable(f"No signing key at {path}: run manage.py audit_keygen to make one.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyUnavailable(f"The signing key at {path} cannot be read: {error}") from None
    try:
        return parse(text)
    except KeyUnavailable as error:
        raise KeyUnavailable(f"The signing key at {path} is not usable: {error}.") from None


def write(key: SigningKey, path: Path, *, replace: bool = False) -> None:
    """Write the key file readable by its owner only; never over an existing key unless told to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(key.file_text())


# -- verifier keys: from configuration only ------------------------------------------------------------


def _setting_keys() -> list[tuple[str, str]]:
    """(setting name, value) of every verifier key configured by setting, as written."""
    found = []
    current = (getattr(settings, "AUDIT_VERIFIER_KEY", "") or "").strip()
    if current:
        found.append(("AUDIT_VERIFIER_KEY", current))
    old = getattr(settings, "AUDIT_OLD_VERIFIER_KEYS", []) or []
    found.extend(("AUDIT_OLD_VERIFIER_KEYS", value.strip()) for value in old if value.strip())
    return found


def bad_verifier_key_settings() -> list[str]:
    """What is wrong with the configured verifier keys (for `check --deploy`); empty when nothing is."""
    problems = []
    for name, value in _setting_keys():
        try:
            parse_verifier_key(value)
        except NoteError as error:
            problems.append(f"{name} holds {value[:40]!r}, which is {error}")
    try:
        own = load().verifier_key
    except KeyUnavailable:
        return problems
    current = (getattr(settings, "AUDIT_VERIFIER_KEY", "") or "").strip()
    if current and current != own:
        problems.append(f"AUDIT_VERIFIER_KEY is not the verifier key of the signing key file ({own}): "
                        "/audit/key serves the file's; correct the setting, or move the old key to "
                        "AUDIT_OLD_VERIFIER_KEYS")  # fmt: skip
    return problems


def published_key() -> str | None:
    """The verifier key /audit/key serves: the signing key file's, else AUDIT_VERIFIER_KEY; None if neither."""
    try:
        return load().verifier_key
    except KeyUnavailable:
        pass
    current = (getattr(settings, "AUDIT_VERIFIER_KEY", "") or "").strip()
    try:
        parse_verifier_key(current)
    except NoteError:
        return None
    return current


def verifier_keys() -> list[str]:
    """Every verifier key a checkpoint may be signed with: the published one first, then retired ones."""
    keys = []
    for value in [published_key() or ""] + [value for _name, value in _setting_keys()]:
        try:
            parse_verifier_key(value)
        except NoteError:
            continue
        if value not in keys:
            keys.append(value)
    return keys


def check_signed(note: str, keys: list[str] | None = None) -> str:
    """The text of a note signed by a configured verifier key (`keys`: verifier_keys(), read once by a
    caller checking many notes); raises NoteError naming why it is not."""
    keys = verifier_keys() if keys is None else keys
    if not keys:
        raise NoteError("no verifier key is configured (AUDIT_SIGNING_KEY or AUDIT_VERIFIER_KEY): "
                        "a checkpoint's signature cannot be checked")  # fmt: skip
    _text, signatures = split_note(note)
    for key in keys:
        name, wanted_id, _public = parse_verifier_key(key)
        if any(signer == name and kid == wanted_id for signer, kid, _sig in signatures):
            text, checked = check_note(note, key)
            if not checked:
                raise NoteError("the signature cannot be checked here (the cryptography package is missing)")
            return text
    named = ", ".join(f"{signer}+{kid.hex()}" for signer, kid, _sig in signatures)
    raise NoteError(f"it is signed by {named}, not by a configured verifier key")
