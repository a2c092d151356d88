"""List pages that stay fast however long the list: keyset pages by default, no COUNT ever.

The default view of a list is ordered by one indexed, unique key (`keyset_order`) and paged with
`?after=<key of the last row shown>`: every page, the first or the ten-thousandth, is one index
range scan of page-size rows. When a reader sorts by a column (tables2's `?sort=`), pages fall
back to tables2's LazyPaginator: OFFSET pages that still never COUNT the whole list.
"""

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


class KeysetTableMixin:
    keyset_order = "-pk"  # an indexed, unique field; "-" for descending
    page_size = PAGE_SIZE
    paginate_by = None  # the table pages itself; Django's MultipleObjectMixin must not (it would COUNT)

    def is_keyset(self) -> bool:
        return not self.request.GET.get("sort")

    def _after(self):
        raw = self.request.GET.get("after", "")
        if not raw:
            return None
        field = self.model._meta.get_field(self.keyset_order.lstrip("-").replace("pk", self.model._meta.pk.name))
        try:
            value = field.to_python(raw)
        except ValidationError:
            return None  # a mangled link shows the first page
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text holds no NUL: no such key
            return None
        return value  # an int beyond the column's range is fine: Django's lt/gt lookups never send it

    def get_table_data(self):
        data = super().get_table_data()
        if not self.is_keyset():
            return data
        name = self.keyset_order.lstrip("-")
        descending = self.keyset_order.startswith("-")
        after = self._after()
        if after is not None:
            data = data.filter(**{f"{name}__{'lt' if descending else 'gt'}": after})
        rows = list(data.order_by(self.keyset_order)[: self.page_size + 1])
        self.next_after = getattr(rows[self.page_size - 1], name) if len(rows) > self.page_size else None
        self.is_first_page = after is None
        return rows[: self.page_size]

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
