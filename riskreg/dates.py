"""The one date format, for text written in Python (mail, messages, titles): "7 Apr 2026"."""


def day(value) -> str:
    return f"{value.day} {value:%b %Y}"


def day_and_time(value) -> str:
    return f"{day(value)} {value:%H:%M}"
