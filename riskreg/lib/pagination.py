"""Keyset pages: a list ordered by one indexed, unique key, paged with the key of the last row shown.

Every page, the first or the ten-thousandth, is one index range scan of page-size rows, and the
list is never counted. `keyset_page` is the one pager: the list pages (riskreg/lib/lists.py, with
`?after=`) and the audit page (`?before=SEQ`, newest first) both page with it.
"""

from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

PAGE_SIZE = 25


class KeysetPage(NamedTuple):
    rows: list
    next_key: Any  # the key to ask for the next page with; None on the last page
    is_first: bool  # no usable key was given: the page starts at the beginning


def _key(queryset: QuerySet, name: str, raw: str) -> Any:
    """The key value of `raw` for the field `name`, or None when it cannot be one (a mangled link)."""
    meta = queryset.model._meta
    field = meta.pk if name == "pk" else meta.get_field(name)
    try:
        value = field.to_python(raw)
    except ValidationError:
        return None
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL text holds no NUL: no such key
        return None
    return value  # an int beyond the column's range is fine: Django's lt/gt lookups never send it


def _value(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)  # values() rows or instances


def keyset_page(queryset: QuerySet, order: str, raw: str, size: int = PAGE_SIZE) -> KeysetPage:
    """One page of `queryset` in `order` (an indexed, unique field; "-" for descending) after the key
    `raw` (the value of ?after= or ?before=; empty or unusable: the first page), read as size + 1 rows.
    The queryset may read instances or `values()` rows that hold the key."""
    name = order.lstrip("-")
    key = _key(queryset, name, raw) if raw else None
    if key is not None:
        queryset = queryset.filter(**{f"{name}__{'lt' if order.startswith('-') else 'gt'}": key})
    rows = list(queryset.order_by(order)[: size + 1])
    return KeysetPage(rows[:size], _value(rows[size - 1], name) if len(rows) > size else None, key is None)
