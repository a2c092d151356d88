"""The 5×5 likelihood × impact heat map, drawn as SVG on the server (no script, no CDN)."""

from collections import Counter

from django.db.models import Count
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse

from .models import SCALE

CELL, MARGIN = 56, 44


BANDS = [(15, "#d64545", "15–25 high"), (8, "#f0a53a", "8–14"), (4, "#f6dc6b", "4–7"), (1, "#8fcf9b", "1–3 low")]
LEGEND = 58  # pixels under the grid for the colour legend


def _colour(score: int) -> str:
    return next(colour for floor, colour, _ in BANDS if score >= floor)


def heatmap_counts(queryset) -> dict[str, Counter]:
    """Risks per (likelihood, impact) for both maps, in one scan of the (filtered) register."""
    counts: dict[str, Counter] = {"inherent": Counter(), "residual": Counter()}
    grouped = queryset.order_by().values_list("inherent_likelihood", "inherent_impact", "residual_likelihood",
                                              "residual_impact").annotate(n=Count("id"))  # fmt: skip
    for inherent_likelihood, inherent_impact, residual_likelihood, residual_impact, n in grouped:
        counts["inherent"][inherent_likelihood, inherent_impact] += n
        counts["residual"][residual_likelihood, residual_impact] += n
    return counts


def heatmap_svg(counts: Counter, which: str, query=None) -> str:
    """An SVG grid of risk counts for `which` ('inherent' or 'residual'; `counts` from heatmap_counts); each
    cell links to its risks, keeping the list's other filters (`query`, the request's GET) so the cell's
    count is what it opens. The figures are worked out here; templates/risks/_heatmap.svg draws them
    (escaping as every template)."""
    likelihood, impact = f"{which}_likelihood", f"{which}_impact"
    size = MARGIN + CELL * len(SCALE) + 8
    list_url = reverse("risks:list")
    keep = query.copy() if query is not None else QueryDict(mutable=True)
    for key in ("page", "after", "export"):  # a cell opens the first page of its risks
        keep.pop(key, None)
    rows = []
    for likelihood_value in SCALE:
        y = MARGIN + CELL * (len(SCALE) - likelihood_value)
        cells = []
        for impact_value in SCALE:
            x = MARGIN + CELL * (impact_value - 1)
            n = counts.get((likelihood_value, impact_value), 0)
            keep[likelihood], keep[impact] = str(likelihood_value), str(impact_value)
            cells.append({"impact": impact_value, "x": x, "count": n, "count_x": x + CELL / 2 - 1,
                          "colour": _colour(likelihood_value * impact_value),
                          "href": f"{list_url}?{keep.urlencode()}" if n else ""})  # fmt: skip
        rows.append({"likelihood": likelihood_value, "y": y, "label_x": MARGIN - 10, "label_y": y + CELL / 2 + 5,
                     "count_y": y + CELL / 2 + 6, "cells": cells})  # fmt: skip
    legend = [{"x": 4 + index * 80, "y": size + 24, "text_x": 4 + index * 80 + 21, "text_y": size + 37,
               "colour": colour, "label": label}
              for index, (_, colour, label) in enumerate(reversed(BANDS))]  # fmt: skip
    return render_to_string("risks/_heatmap.svg", {
        "which": which, "width": max(size, 4 + 80 * len(BANDS)), "height": size + LEGEND, "rows": rows,
        "columns": [{"impact": v, "x": MARGIN + CELL * (v - 1) + CELL / 2, "y": MARGIN - 12} for v in SCALE],
        "cell_size": CELL - 2, "margin": MARGIN, "axis_y": size - 4, "legend_title_y": size + 14, "legend": legend,
    }).strip()
