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
