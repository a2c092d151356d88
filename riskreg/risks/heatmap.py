"""The 5×5 likelihood × impact heat map, drawn as SVG on the server (no script, no CDN)."""

from django.db.models import Count
from django.urls import reverse
from django.utils.html import escape

from .models import SCALE

CELL, MARGIN = 56, 44


def _colour(score: int) -> str:
    if score >= 15:
        return "#d64545"
    if score >= 8:
        return "#f0a53a"
    if score >= 4:
        return "#f6dc6b"
    return "#8fcf9b"


def heatmap_svg(queryset, which: str) -> str:
    """An SVG grid of risk counts for `which` ('inherent' or 'residual'); each cell links to its risks."""
    likelihood, impact = f"{which}_likelihood", f"{which}_impact"
    counts = {
        (row[likelihood], row[impact]): row["n"]
        for row in queryset.order_by().values(likelihood, impact).annotate(n=Count("id"))
    }
    size = MARGIN + CELL * len(SCALE) + 8
    list_url = reverse("risks:list")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="heatmap" role="img" '
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
                href = escape(f"{list_url}?{likelihood}={likelihood_value}&{impact}={impact_value}")
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
    parts.append("</svg>")
    return "".join(parts)
