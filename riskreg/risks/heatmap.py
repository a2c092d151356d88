"""The 5×5 likelihood × impact heat map, drawn as SVG on the server (no script, no CDN)."""

from django.db.models import Count
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import escape

from .models import SCALE

CELL, MARGIN = 56, 44


BANDS = [(15, "#d64545", "15–25 high"), (8, "#f0a53a", "8–14"), (4, "#f6dc6b", "4–7"), (1, "#8fcf9b", "1–3 low")]
LEGEND = 58  # pixels under the grid for the colour legend


def _colour(score: int) -> str:
    return next(colour for floor, colour, _ in BANDS if score >= floor)


def _legend(top: float) -> str:
    """What the colours mean, drawn under the grid (also in the PDF, where nothing hovers)."""
    parts = [f'<text x="4" y="{top + 14}" class="axis">colour: likelihood × impact · number: risks</text>']
    for index, (_, colour, label) in enumerate(reversed(BANDS)):
        x = 4 + index * 80
        parts.append(f'<rect x="{x}" y="{top + 24}" width="16" height="16" rx="3" fill="{colour}"/>'
                     f'<text x="{x + 21}" y="{top + 37}" class="legend">{label}</text>')  # fmt: skip
    return "".join(parts)


def heatmap_svg(queryset, which: str, query=None) -> str:
    """An SVG grid of risk counts for `which` ('inherent' or 'residual'); each cell links to its risks,
    keeping the list's other filters (`query`, the request's GET) so the cell's count is what it opens."""
    likelihood, impact = f"{which}_likelihood", f"{which}_impact"
    counts = {
        (row[likelihood], row[impact]): row["n"]
        for row in queryset.order_by().values(likelihood, impact).annotate(n=Count("id"))
    }
    size = MARGIN + CELL * len(SCALE) + 8
    width = max(size, 4 + 80 * len(BANDS))
    list_url = reverse("risks:list")
    keep = query.copy() if query is not None else QueryDict(mutable=True)
    for key in ("page", "after", "export"):  # a cell opens the first page of its risks
        keep.pop(key, None)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {size + LEGEND}" class="heatmap" role="img" '
        f'aria-labelledby="hm-{which}-title"><title id="hm-{which}-title">{which.capitalize()} risk: '
        f"likelihood (up) by impact (across)</title>"
    ]
    for likelihood_value in SCALE:
        y = MARGIN + CELL * (len(SCALE) - likelihood_value)
        parts.append(f'<text x="{MARGIN - 10}" y="{y + CELL / 2 + 5}" text-anchor="end">{likelihood_value}</text>')
        for impact_value in SCALE:
            x = MARGIN + CELL * (impact_value - 1)
            n = counts.get((likelihood_value, impact_value), 0)
            cell = (
                f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" rx="4" '
                f'fill="{_colour(likelihood_value * impact_value)}" fill-opacity="{1 if n else 0.35}"/>'
            )
            if n:
                keep[likelihood], keep[impact] = str(likelihood_value), str(impact_value)
                href = escape(f"{list_url}?{keep.urlencode()}")
                label = f"{n} risk{'s' if n != 1 else ''}: likelihood {likelihood_value}, impact {impact_value}"
                cell = (
                    f'<a href="{href}" aria-label="{label}">{cell}'
                    f'<text x="{x + CELL / 2 - 1}" y="{y + CELL / 2 + 6}" text-anchor="middle" class="count">'
                    f"{n}</text></a>"
                )
            parts.append(cell)
    for impact_value in SCALE:
        x = MARGIN + CELL * (impact_value - 1) + CELL / 2
        parts.append(f'<text x="{x}" y="{MARGIN - 12}" text-anchor="middle">{impact_value}</text>')
    parts.append(f'<text x="{MARGIN}" y="14" class="axis">impact →</text>')
    parts.append(f'<text x="4" y="{size - 4}" class="axis">↑ likelihood</text>')
    parts.append(_legend(size))
    parts.append("</svg>")
    return "".join(parts)
