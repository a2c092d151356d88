"""The second step of a consequential POST (sign, reject, re-affirm, submit, revoke a token).

The first POST renders a page that says what the step does; its button posts the same fields again
with a `confirm` token. The token is signed by the server and binds the user, the address and every
field shown, so a hand-made `confirm=yes`, a token for another user or decision, or a field changed
between the two steps is not a confirmation: the page is shown again instead. For signing, the fields
include the digest of the content the signer read, which the sign step checks under its row lock.
"""

import hashlib
import json

from django.core import signing
from django.shortcuts import render

SALT = "riskreg.confirmation"
MAX_AGE = 60 * 60  # seconds: a confirmation page left open longer is shown again


def _payload(request, fields: dict) -> dict:
    """What the token binds: the user, the address, and a SHA-256 of every field shown (so a long comment in
    any script keeps the token short)."""
    shown = json.dumps({k: str(v) for k, v in sorted(fields.items())}, ensure_ascii=False, sort_keys=True)
    return {"user": request.user.pk, "path": request.path, "fields": hashlib.sha256(shown.encode()).hexdigest()}


def confirmed(request, fields: dict) -> bool:
    """True when this POST carries a valid confirmation of exactly these fields, by this user, here."""
    token = request.POST.get("confirm", "")
    if not token or len(token) > 2000:
        return False
    try:
        return signing.loads(token, salt=SALT, max_age=MAX_AGE) == _payload(request, fields)
    except signing.BadSignature:  # includes an expired one
        return False


def page(request, *, heading: str, consequences: list[str], button: str, back_url: str, back_text: str,
         fields: dict | None = None, password: str = "", error: str = ""):  # fmt: skip
    """The confirmation page: what the step does, and a button that posts it again, confirmed. With
    `password` (its label), the step also asks for the person's password, which no token carries."""
    fields = fields or {}
    return render(request, "confirm.html", {
        "action": request.path, "heading": heading, "consequences": consequences, "button": button,
        "fields": fields, "confirm_token": signing.dumps(_payload(request, fields), salt=SALT),
        "back_url": back_url, "back_text": back_text, "password": password, "error": error,
    })  # fmt: skip
