"""Text for the decision record: long words made breakable.

A word longer than a line (an address, a path, a pasted hash) runs off a printed page, and
WeasyPrint's own way out (`overflow-wrap: anywhere`) costs minutes on a long text: each overflowing
word is retried one character at a time. An invisible break opportunity (U+200B, zero width space)
every few characters of such a word lets the line break there at the usual cost; short words are
left alone.
"""

import re

from django import template

register = template.Library()

LONG_WORD = re.compile(r"\S{31,}")
EVERY = 16
ZERO_WIDTH_SPACE = "\u200b"
NO_BREAK = {0x00A0: " ", 0x2007: " ", 0x202F: " ", 0x2060: None, 0xFEFF: None}


def _break(match: re.Match) -> str:
    word = match.group()
    return ZERO_WIDTH_SPACE.join(word[i : i + EVERY] for i in range(0, len(word), EVERY))


@register.filter
def breakable(value) -> str:
    """The text with a break opportunity every 16 characters of any word over 30 (escaped later as usual)."""
    if value is None:
        return ""
    # No-break spaces and joiners would glue a whole text into one unbreakable word: plain spaces here.
    return LONG_WORD.sub(_break, str(value).translate(NO_BREAK))
