"""List pages that stay fast however long the list: keyset pages by default, no COUNT ever.

The default view of a list is ordered by one indexed, unique key (`keyset_order`) and paged with
`?after=<key of the last row shown>`: every page, the first or the ten-thousandth, is one index
range scan of page-size rows. When a reader sorts by a column (tables2's `?sort=`), pages fall
back to tables2's LazyPaginator: OFFSET pages that still never COUNT the whole list.
`keyset_page` is the one pager: the list pages' mixin below and the audit page (`?before=SEQ`,
newest first) both page with it.
"""

from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage
from django_tables2.paginators import LazyPaginator

PAGE_SIZE = 25
# The largest OFFSET a database takes is a signed 64-bit integer; a page number beyond that made
# SQLite overflow and PostgreSQL fail with "bigint out of range": a 500 instead of a page.
MAX_OFFSET = 2**62


class BoundedLazyPaginator(LazyPaginator):
    """LazyPaginator that treats a page too far to exist as empty, so tables2 shows a normal page."""

    def validate_number(self, number):
        number = super().validate_number(number)
        if (number - 1) * self.per_page > MAX_OFFSET:
            raise EmptyPage("That page contains no results")
        return number


class KeysetPage(NamedTuple):
    rows: list
    next_key: object  # the key to ask for the next page with; None on the last page
    is_first: bool  # no usable key was given: the page starts at the beginning


def _key(queryset, name: str, raw: str):
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


def keyset_page(queryset, order: str, raw: str, size: int = PAGE_SIZE) -> KeysetPage:
    """One page of `queryset` in `order` (an indexed, unique field; "-" for descending) after the key
    `raw` (the value of ?after= or ?before=; empty or unusable: the first page), read as size + 1 rows."""
    name = order.lstrip("-")
    key = _key(queryset, name, raw) if raw else None
    if key is not None:
        queryset = queryset.filter(**{f"{name}__{'lt' if order.startswith('-') else 'gt'}": key})
    rows = list(queryset.order_by(order)[: size + 1])
    return KeysetPage(rows[:size], getattr(rows[size - 1], name) if len(rows) > size else None, key is None)


class KeysetTableMixin:
    keyset_order = "-pk"  # an indexed, unique field; "-" for descending
    page_size = PAGE_SIZE
    paginate_by = None  # the table pages itself; Django's MultipleObjectMixin must not (it would COUNT)

    def is_keyset(self) -> bool:
        return not self.request.GET.get("sort")

    def get_table_data(self):
        data = super().get_table_data()
        if not self.is_keyset():
            return data
        page = keyset_page(data, self.keyset_order, self.request.GET.get("after", ""), self.page_size)
        self.next_after, self.is_first_page = page.next_key, page.is_first
        return page.rows

    def get_table_pagination(self, table):
        if self.is_keyset():
            return False
        return {"per_page": self.page_size, "paginator_class": BoundedLazyPaginator}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.is_keyset():
            query = self.request.GET.copy()
            query.pop("after", None)
            query.pop("page", None)
            context.update(keyset=True, next_after=self.next_after, is_first_page=self.is_first_page,
                           page_query=query.urlencode())  # fmt: skip
        return context
