"""Keyset pages: a list ordered by one indexed, unique key, paged with the key of the last row shown.

Every page, the first or the ten-thousandth, is one index range scan of page-size rows, and the
list is never counted. The list pages (riskreg/lib/lists.py) page with `?after=`, the audit page with
`?before=`.
"""

from django.core.exceptions import ValidationError

from riskreg.lib.forms import id_in_range

PAGE_SIZE = 25


def keyset_after(model, keyset_order: str, raw: str):
    """The key value of `?after=` for `keyset_order`, or None (first page) when it is missing or mangled."""
    if not raw:
        return None
    field = model._meta.get_field(keyset_order.lstrip("-").replace("pk", model._meta.pk.name))
    try:
        value = field.to_python(raw)
    except ValidationError:
        return None  # a mangled link shows the first page
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL text holds no NUL: no such key
        return None
    return value if not isinstance(value, int) or id_in_range(value) else None
