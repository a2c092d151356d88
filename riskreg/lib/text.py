"""Which characters a stored text may hold: one rule for models, forms, the admin, commands and mail.

- Every text refuses control characters: NUL (PostgreSQL text cannot hold it, so a NUL reached the
  database as a 500), the other C0 controls, DEL and the C1 controls. Tab, line feed and carriage
  return stay allowed in texts of several lines (`no_control_characters`).
- A one-line text (a title, a reference, a name) refuses line breaks too — CR, LF, tab and the Unicode
  line and paragraph separators (`single_line`): such a text is put into mail subjects and lines, and a
  line break in it would write lines of its author's choosing there.

Mail is composed through `one_line` all the same, for texts stored before these rules.
"""

import re

from django.core.exceptions import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not tab, LF, CR
_BREAK_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMES = {"\x00": "NUL", "\t": "a tab", "\n": "a line break", "\r": "a line break (CR)", "\x1b": "ESC",
          "\x7f": "DEL", "\u2028": "a line separator", "\u2029": "a paragraph separator"}  # fmt: skip


def _named(char: str) -> str:
    return _NAMES.get(char, f"the control character U+{ord(char):04X}")


def no_control_characters(value) -> None:
    found = _CONTROL.search(str(value))
    if found:
        raise ValidationError(
            f"This text holds {_named(found.group())}, which cannot be stored: remove it "
            "(text may hold letters, tabs and line breaks, but no control characters).",
            code="control_character",
        )


def single_line(value) -> None:
    found = _BREAK_OR_CONTROL.search(str(value))
    if found:
        raise ValidationError(
            f"One line only: this text holds {_named(found.group())}; remove it "
            "(no line breaks, tabs or other control characters here).",
            code="not_single_line",
        )


def one_line(value) -> str:
    """A text as one line, for mail subjects and lines: every run of whitespace (line breaks among it)
    one space, every other control character gone."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())
