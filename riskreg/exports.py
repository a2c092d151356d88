"""CSV downloads of list pages (`?export=csv`): the page's filters and sort, streamed in flat memory.

A list page's export used to build the page first (its rows, heat maps, review states) and then
every filtered row as a model instance through django-tables2: at 100k evaluations 55 s and
857 MB, long enough for gunicorn's worker timeout to cut the download short. Now the export
answers before any page query runs, reads plain rows (`values_list`) through a server-side cursor
in chunks, and writes each chunk as one piece of the response: memory stays the size of a chunk.

Each list names a `CsvExport` (its columns, the fields they are read from and how a chunk of rows
becomes cells); every cell is escaped against spreadsheet formulas, as the audit export does.
An export that also says its cells in SQL (`copy_cells`) is, on PostgreSQL, `COPY … TO STDOUT` of
the same filtered, ordered rows, streamed block by block: building each row in Python ran at about
a twelfth of COPY's speed (BENCHMARKS.md). A test checks both paths give the same cells.
"""

import codecs
import csv
from itertools import islice

from django.db import connection
from django.db.models import Case, TextField, Value, When
from django.db.models.functions import Cast, Concat, Left, NullIf
from django.db.models.lookups import In
from django.http import StreamingHttpResponse
from django.utils import timezone

from riskreg.audit.export import FORMULA_STARTS, Echo, escape_formula

CHUNK = 2000  # rows per server-side fetch and per piece of the response


def chunks(rows, size: int):
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def choice_labels(model, field: str) -> dict:
    """A choice field's stored values → the labels the page shows."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def text(value) -> str:
    """A cell as today's export wrote it: None is empty, anything else its str(), formulas escaped."""
    return "" if value is None else escape_formula(str(value))


def escaped_sql(expression):
    """text() in SQL: the value as text, empty for NULL or '' (COPY would quote ''), formulas escaped."""
    value = NullIf(Cast(expression, TextField()), Value("", output_field=TextField()), output_field=TextField())
    quoted = Concat(Value("'", output_field=TextField()), value, output_field=TextField())
    return Case(When(In(Left(value, 1), list(FORMULA_STARTS)), then=quoted), default=value, output_field=TextField())


def label_sql(field: str, labels: dict):
    """A choice field's label in SQL (the stored value when it has none), as text() writes it."""
    return escaped_sql(Case(*[When(**{field: value}, then=Value(label)) for value, label in labels.items()],
                            default=field, output_field=TextField()))  # fmt: skip


class CsvExport:
    """The columns of one list's CSV: `header`, the `fields` read per row, `cells()` for a chunk of rows."""

    name = ""  # riskreg-<name>-<time>.csv
    header: list[str] = []
    fields: list[str] = []

    def cells(self, rows: list[tuple]):
        """Yield one list of cell values per row (None for an empty cell); rows are tuples of `fields`."""
        raise NotImplementedError

    def copy_cells(self, queryset):
        """The queryset with one text annotation per column, and their names; None: no COPY path."""
        return None

    def copy_lines(self, queryset):
        """PostgreSQL's COPY of the cells copy_cells() says in SQL, in the queryset's order."""
        cells, names = self.copy_cells(queryset)
        sql, params = cells.values_list(*names).query.sql_with_params()
        yield csv.writer(Echo()).writerow(self.header)
        decoder = codecs.getincrementaldecoder("utf-8")()  # a block may end inside a character
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for block in copy:
                    yield decoder.decode(bytes(block))
            yield decoder.decode(b"", final=True)

    def lines(self, queryset):
        if connection.vendor == "postgresql" and self.copy_cells(queryset.none()) is not None:
            yield from self.copy_lines(queryset)
            return
        yield from self.python_lines(queryset)

    def python_lines(self, queryset):
        writer = csv.writer(Echo())
        yield writer.writerow(self.header)
        rows = queryset.values_list(*self.fields).iterator(chunk_size=CHUNK)
        for chunk in chunks(rows, CHUNK):
            yield "".join(writer.writerow([text(value) for value in cells]) for cells in self.cells(chunk))

    def response(self, queryset) -> StreamingHttpResponse:
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(self.lines(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="riskreg-{self.name}-{stamp}.csv"'
        return response


class CsvExportMixin:
    """`?export=csv` on a FilterView list: its filtered rows, in the page's order, as a streamed CSV.

    Answers in get(), before the page's own queries (its rows, option lists, heat maps) would run.
    The order is the page's: tables2's column sort for `?sort=`, else the list's keyset order, with
    the primary key breaking ties so that the download has one order.
    """

    csv_export: type[CsvExport]

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") != "csv":
            return super().get(request, *args, **kwargs)
        self.filterset = self.get_filterset(self.get_filterset_class())
        if not self.filterset.is_bound or self.filterset.is_valid() or not self.get_strict():
            queryset = self.filterset.qs
        else:
            queryset = self.filterset.queryset.none()
        return self.csv_export().response(self.export_order(queryset))

    def export_order(self, queryset):
        sort = self.request.GET.getlist("sort")
        if sort and any(sort):
            # The table resolves ?sort= as the page does (unknown or unsortable columns are ignored);
            # building it on a queryset runs no query.
            ordered = self.table_class(queryset, order_by=sort).data.data
            return ordered.order_by(*ordered.query.order_by, "pk")
        return queryset.order_by(self.keyset_order)
