"""CSV downloads of list pages (`?export=csv`): the page's filters and sort, streamed in flat memory.

A list page's export used to build the page first (its rows, heat maps, review states) and then
every filtered row as a model instance through django-tables2: at 100k evaluations 55 s and
857 MB, long enough for gunicorn's worker timeout to cut the download short. Now the export
answers before any page query runs, reads plain rows (`values_list`) through a server-side cursor
in chunks, and writes each chunk as one piece of the response: memory stays the size of a chunk.

Each list names a `CsvExport` (its columns, the fields they are read from and how a chunk of rows
becomes cells); every cell is escaped against spreadsheet formulas, as the audit export does. A list of
records that carry a source (riskreg.sources.Sourced) gets its provenance columns from here, in the
words every other output uses (riskreg.provenance): where each row comes from, its section, how sure,
the note, and which of its values are riskreg's reading rather than the source's.
"""

import csv
from itertools import islice

from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import StreamingHttpResponse
from django.utils import timezone

from riskreg import provenance
from riskreg.audit.export import FORMULA_STARTS, Echo
from riskreg.lib.lists import sorted_queryset
from riskreg.sources import Sourced

CHUNK = 2000  # rows per server-side fetch and per piece of the response
SEEN = 10_000  # distinct provenances an export remembers
# The list's last column (as the page shows it), then what the page shows only on the record's own page.
PROVENANCE_HEADER = ["Source (§ · how sure)", "Source note", "riskreg's reading (not the source's)"]


def escaped(value) -> str:
    """A cell as lines() writes one: empty for None, else its text with a formula escaped."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def provenance_cells(prov: provenance.Provenance) -> tuple:
    """A row's provenance columns (PROVENANCE_HEADER)."""
    return (prov.short, prov.note, ", ".join(prov.readings))


def chunks(rows, size: int):
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def choice_labels(model, field: str) -> dict:
    """A choice field's stored values → the labels the page shows."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def ids_in(ids: list[int]):
    """For `pk__in` with a chunk's thousands of ids: on PostgreSQL one array parameter, not one placeholder
    an id (Django and psycopg took a quarter of the export's time preparing those lists)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return ids


class CsvExport:
    """The columns of one list's CSV: `header`, the `fields` read per row, `cells()` for a chunk of rows."""

    name = ""  # riskreg-<name>-<time>.csv
    model: type | None = None  # a Sourced model: its rows get the provenance columns
    header: list[str] = []
    fields: list[str] = []

    def cells(self, rows: list[tuple]):
        """Yield one list of cell values per row (None for an empty cell); rows are tuples of `fields`."""
        raise NotImplementedError

    def _provenance_fields(self) -> list[str]:
        if self.model is None or not issubclass(self.model, Sourced):
            return []
        return [field for field in provenance.fields_for(self.model) if field not in self.fields]

    def _with_provenance(self, chunk: list[tuple], extra: list[str], seen: dict):
        """Each row's own cells, and its provenance columns already escaped: worked out once for each distinct set
        of the values they depend on (`seen`, kept across the export's chunks: a long export repeats a few
        hundred)."""
        count = len(self.fields)
        names = [*self.fields, *extra]
        read = provenance.reader(self.model, names)
        at = [names.index(name) for name in provenance.fields_for(self.model)]
        own = [row[:count] for row in chunk]
        for cells, row in zip(self.cells(own), chunk, strict=True):
            key = tuple([row[i] for i in at])
            found = seen.get(key)
            if found is None:
                found = [escaped(value) for value in provenance_cells(read(row))]
                if len(seen) < SEEN:  # bounded: an export of all-different notes keeps memory flat
                    seen[key] = found
            yield cells, found

    def lines(self, queryset):
        writer = csv.writer(Echo())
        extra = self._provenance_fields()
        sourced = self.model is not None and issubclass(self.model, Sourced)
        yield writer.writerow(self.header + (PROVENANCE_HEADER if sourced else []))
        rows = queryset.values_list(*self.fields, *extra).iterator(chunk_size=CHUNK)
        seen: dict = {}
        for chunk in chunks(rows, CHUNK):
            # A cell: None is empty, anything else its str() with formulas escaped (audit.export.escape_formula,
            # inlined: it runs for every cell, and the calls were a fifth of the export's time).
            if not sourced:
                yield "".join(
                    writer.writerow(["" if value is None else "'" + cell if (cell := str(value)).startswith(
                        FORMULA_STARTS) else cell for value in cells])
                    for cells in self.cells(chunk)
                )  # fmt: skip
                continue
            yield "".join(
                writer.writerow(["" if value is None else "'" + cell if (cell := str(value)).startswith(FORMULA_STARTS)
                                 else cell for value in cells] + found)
                for cells, found in self._with_provenance(chunk, extra, seen)
            )  # fmt: skip

    def response(self, queryset) -> StreamingHttpResponse:
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(self.lines(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="riskreg-{self.name}-{stamp}.csv"'
        return response


class CsvExportMixin:
    """`?export=csv` on a FilterView list: its filtered rows, in the page's order, as a streamed CSV.

    Answers in get(), before the page's own queries (its rows, option lists, heat maps) would run.
    The order is the page's (riskreg.lib.lists.sorted_queryset): the column sort of `?sort=`, else the
    list's keyset order, with the primary key breaking ties so that the download has one order.
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
        return sorted_queryset(self.table_class, queryset, self.request.GET.getlist("sort"), self.keyset_order)
