"""List pages near their floor: the rows of a page are read as plain values and drawn by a template loop.

django-tables2 declares each list's columns: their headers, which of them sort and on which fields,
and what `?sort=` means. It no longer draws the rows: a profile of the evaluations page at 100k rows
put a third of the time in tables2's cells (it inspects each render method's signature, per cell)
and its row template, and another tenth in building model instances that only fed those cells. Each
list now names the fields a row needs (`row_fields`), reads one page of them with `values()` and
adds what the fields cannot give in `decorate_rows()` (labels, links, a second query for the page's
evidence); its `row_template` is a plain loop over those dicts.

Pages: by default a list is ordered by one indexed, unique key (`keyset_order`) and paged with
`?after=<key of the last row shown>`, so every page, the first or the ten-thousandth, is one index
range scan (riskreg/lib/pagination.py). Sorted by a column (`?sort=`), pages are `?page=N`: OFFSET,
with the primary key breaking ties so that no row appears on two pages; one row more than a page is
read to know whether there is a next one, and the list is never counted.
"""

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from riskreg import provenance
from riskreg.lib.pagination import PAGE_SIZE, keyset_page
from riskreg.sources import Sourced

MAX_PAGE = 2**62 // PAGE_SIZE  # beyond it OFFSET overflows a bigint: such a page is empty, not a 500


def accepted_sort(table_class, sort: list[str]) -> list[str]:
    """The `?sort=` values the table sorts by: unknown and unsortable columns are dropped, as tables2 does."""
    if not any(sort):
        return []
    return [str(key) for key in table_class(table_class._meta.model._default_manager.none(), order_by=sort).order_by]


def sorted_queryset(table_class, queryset, sort: list[str], keyset_order: str):
    """The list in the page's order: the table's reading of `?sort=` (unknown or unsortable columns are
    ignored, as the headers do), the primary key breaking ties; with no sort it accepts, the keyset order."""
    sort = accepted_sort(table_class, sort)
    if sort:
        # Building the table on a queryset orders it lazily: no query runs.
        ordered = table_class(queryset, order_by=sort).data.data
        keys = ordered.query.order_by
        # The tie-breaker runs the way the first key does, so that an index on (column, id) serves both ways.
        return ordered.order_by(*keys, "-pk" if keys and str(keys[0]).startswith("-") else "pk")
    return queryset.order_by(keyset_order)


def page_number(raw: str) -> int:
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= MAX_PAGE else (1 if number < 1 else MAX_PAGE + 1)


class ListPageMixin:
    """For a django-filter FilterView: one page of rows (`rows_queryset`) in `page_rows`, the table for its headers."""

    request: HttpRequest  # the view's, as for every mixin of a Django view
    model: type[Model]
    object_list: QuerySet
    table_class: type
    row_template: str
    row_fields: tuple[str, ...] = ()
    keyset_order = "-pk"  # an indexed, unique field; "-" for descending
    page_size = PAGE_SIZE
    paginate_by = None  # Django's MultipleObjectMixin must not page the list (it would COUNT it)
    detail_url = ""  # the name of the row's page, reversed with its pk as `url`

    def sort(self) -> list[str]:
        """The page's column sort: `?sort=` as the table accepts it (none: the keyset order)."""
        if not hasattr(self, "_sort"):
            self._sort = accepted_sort(self.table_class, self.request.GET.getlist("sort"))
        return self._sort

    def rows_queryset(self, queryset: QuerySet) -> QuerySet:
        """How a page reads its rows: the `row_fields` as values, by default (and, for a model whose records
        carry a source, what riskreg.provenance needs: every row says where it comes from)."""
        return queryset.values(*self.row_fields, *self._provenance_fields())

    def _provenance_fields(self) -> list[str]:
        if not issubclass(self.model, Sourced):
            return []
        return [field for field in provenance.fields_for(self.model) if field not in self.row_fields]

    def decorate_rows(self, rows: list) -> None:
        """Add to the page's rows what their fields do not give (labels, links, related rows, provenance)."""
        if self.detail_url:
            for row in rows:
                row["url"] = reverse(self.detail_url, args=[row["pk"]])
        if issubclass(self.model, Sourced):
            for row in rows:
                if isinstance(row, dict):
                    row["provenance"] = provenance.of_row(self.model, row)

    def page_context(self) -> dict:
        queryset = self.rows_queryset(
            sorted_queryset(self.table_class, self.object_list, self.sort(), self.keyset_order)
        )
        size = self.page_size
        if not self.sort():
            page = keyset_page(queryset, self.keyset_order, self.request.GET.get("after", ""), size)
            rows = page.rows
            context = {"keyset": True, "is_first_page": page.is_first, "next_after": page.next_key}
        else:
            number = page_number(self.request.GET.get("page", ""))
            rows = list(queryset[(number - 1) * size : number * size + 1]) if number <= MAX_PAGE else []
            context = {"keyset": False, "page_number": number, "has_next": len(rows) > size,
                       "previous_page": number - 1 if number > 1 else None}  # fmt: skip
        rows = rows[:size]
        self.decorate_rows(rows)
        query = self.request.GET.copy()
        for name in ("after", "page", "export"):
            query.pop(name, None)
        unsorted = query.copy()
        unsorted.pop("sort", None)
        # The pager keeps the filters and the sort; a header's sort link keeps the filters and starts at the
        # first page; the filter form keeps the sort (sort_values).
        context.update(page_rows=rows, page_query=query.urlencode(), sort_query=unsorted.urlencode(),
                       sort_values=self.sort(), row_template=self.row_template,
                       list_noun=self.model._meta.verbose_name_plural)  # fmt: skip
        return context

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["table"] = self.table_class(self.object_list.none(), order_by=self.sort() or None)
        context.update(self.page_context())
        return context
