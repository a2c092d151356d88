"""CSV downloads of list pages: the table's export values, the page's filters, streamed."""

import csv

from django.http import StreamingHttpResponse
from django.utils import timezone

from riskreg.audit.export import Echo, escape_formula


def stream_table_csv(table, name: str) -> StreamingHttpResponse:
    """Every row of `table` (unpaginated), using its value_* methods, formula cells escaped."""
    writer = csv.writer(Echo())

    def lines():
        for row in table.as_values():
            yield writer.writerow([escape_formula(str(value)) if value is not None else "" for value in row])

    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="riskreg-{name}-{stamp}.csv"'
    return response
