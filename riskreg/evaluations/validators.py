"""Validation rules shared by the evaluation models, forms and importers."""

import math

from django.core.exceptions import ValidationError


def validate_comparisons(value):
    """Comparisons are a list of {"subject": str, "value": number or null, "unit": str, "note": str}."""
    if not isinstance(value, list):
        raise ValidationError("Comparisons must be a list of {subject, value, unit} entries.")
    allowed = {"subject", "value", "unit", "note"}
    for position, entry in enumerate(value, start=1):
        if not isinstance(entry, dict):
            raise ValidationError(f"Comparison {position} must be an object with a subject and a value.")
        unknown = set(entry) - allowed
        if unknown:
            raise ValidationError(f"Comparison {position} has unknown keys: {', '.join(sorted(unknown))}.")
        subject = entry.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            raise ValidationError(f"Comparison {position} needs a subject (the model or baseline compared).")
        number = entry.get("value")
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number)
        ):
            raise ValidationError(f"Comparison {position} ({subject}) needs a finite number as its value.")
        for key in ("unit", "note"):
            if key in entry and not isinstance(entry[key], str):
                raise ValidationError(f"Comparison {position} ({subject}): {key} must be text.")


def validate_finite(value):
    if value is not None and not math.isfinite(value):
        raise ValidationError("Enter a finite number (not NaN or infinity).")


# Evidence files riskreg accepts: extension → (content type, check of the file's first bytes).
# The extension alone proves nothing; the bytes must agree with it.
def _starts_with(*prefixes: bytes):
    return lambda head: any(head.startswith(prefix) for prefix in prefixes)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


_ZIP = _starts_with(b"PK\x03\x04", b"PK\x05\x06")
ALLOWED_UPLOADS = {
    ".pdf": ("application/pdf", _starts_with(b"%PDF-")),
    ".png": ("image/png", _starts_with(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("image/jpeg", _starts_with(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", _starts_with(b"\xff\xd8\xff")),
    ".gif": ("image/gif", _starts_with(b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    ".csv": ("text/csv", _is_text),
    ".json": ("application/json", _is_text),
    ".txt": ("text/plain", _is_text),
    ".md": ("text/markdown", _is_text),
    ".log": ("text/plain", _is_text),
    ".zip": ("application/zip", _ZIP),
    ".eval": ("application/zip", _ZIP),  # Inspect's .eval logs are zip archives
}
SNIFF_BYTES = 8192


def check_upload(upload, max_bytes: int) -> str:
    """Refuse an upload that is too large or not what its name says; return its content type."""
    from pathlib import PurePath

    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            f"The file is {upload.size / 1_000_000:.1f} MB; the limit is {max_bytes / 1_000_000:.0f} MB."
        )
    if not upload.size:
        raise ValidationError("The file is empty.")
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in ALLOWED_UPLOADS:
        allowed = ", ".join(sorted(ALLOWED_UPLOADS))
        raise ValidationError(f"Files of type '{suffix or 'none'}' are not accepted. Accepted: {allowed}.")
    content_type, looks_right = ALLOWED_UPLOADS[suffix]
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not looks_right(head):
        raise ValidationError(f"The file's content is not a {suffix} file.")
    return content_type
