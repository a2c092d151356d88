"""The one date format, for text written in Python (mail, messages, titles): "7 Apr 2026"."""

import datetime

from django.core.exceptions import ValidationError


def day(value) -> str:
    return f"{value.day} {value:%b %Y}"


def day_and_time(value) -> str:
    return f"{day(value)} {value:%H:%M}"


# -- what a date in the record may be -----------------------------------------------------------------

EARLIEST, LATEST = datetime.date(1950, 1, 1), datetime.date(2150, 12, 31)


def plausible(value) -> None:
    """A validator for the record's dates: a typo such as year 9999 or 0202 is refused with a message, not
    stored (pages and pictures draw dates on an axis; nothing this register records lies outside these)."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValidationError(
            f"Give a date between {day(EARLIEST)} and {day(LATEST)}; {value.isoformat()} is outside them.",
            code="implausible_date",
        )


def plausible_moment(value) -> None:
    """`plausible` for a date and time (an incident's clocks start from one)."""
    if value is not None:
        plausible(value.date())
