"""A model's timeline on a time axis, drawn as SVG on the server (issue 17): one lane per snapshot,
its evaluations as dots coloured by outcome, its decisions as diamonds coloured by scope and outlined
by status; month ticks under the lanes; each mark links to its record. No script; the app's CSS.
Undated evaluations and decisions cannot be placed: each lane says how many it leaves out.
"""

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.html import escape

from riskreg import provenance
from riskreg.lib.dates import EARLIEST, LATEST, day

from .models import OUTCOME_TERM_FIELDS, AIModel, Evaluation, Outcome, Snapshot

if TYPE_CHECKING:
    from riskreg.decisions.models import ReleaseDecision

LEFT, RIGHT, LANE, TOP, AXIS = 270, 44, 64, 26, 40
WIDTH = 1000
# Colours as attributes too, so the drawing is the same where the page's CSS does not reach (the PDF).
FILL = {"bad": "#c62828", "warn": "#e08a00", "good": "#3c9a52", "neutral": "#9aa3ad",
        "no_deployment": "#5b5b5b", "internal_review": "#5c7fd1", "internal_use": "#5c7fd1",
        "limited_pilot": "#8e5bd1", "limited_access": "#8e5bd1", "general_availability": "#1f9d8a"}  # fmt: skip
STROKE = {"status-rejected": 'stroke="#c62828" stroke-width="2.5"', "status-draft": 'stroke-dasharray="3 2"',
          "status-in_review": 'stroke-dasharray="3 2"', "status-superseded": 'stroke="#9aa3ad"',
          "status-recorded": 'stroke="#9aa3ad"'}  # fmt: skip
OUTCOME_CLASS: dict[str, str] = {Outcome.SIGNAL_MET: "warn", Outcome.CROSSED: "bad", Outcome.SATURATED: "bad",
                 Outcome.BELOW_THRESHOLD: "good"}  # fmt: skip


PLAUSIBLE = (EARLIEST, LATEST)  # the dates a record may hold (riskreg.lib.dates.plausible)


def _when(evaluation: Evaluation) -> datetime.date | None:
    """The date an evaluation is drawn at; None when it has none, or one outside the drawn span."""
    when = evaluation.finished_on or evaluation.started_on
    return when if when and PLAUSIBLE[0] <= when <= PLAUSIBLE[1] else None


def _marked(record: "Evaluation | ReleaseDecision | Snapshot") -> str:
    """A mark's words after a dot's label, where a reader must not take it as the source's plain fact."""
    prov = provenance.of(record)
    return f" ({prov.mark_label})" if prov.flagged else ""


def timeline_svg(model: AIModel, snapshots: Sequence[Snapshot], decisions: "Sequence[ReleaseDecision]") -> str:
    evaluations = list(Evaluation.objects.filter(snapshot__model=model).select_related("threshold")
                       .only("id", "title", "outcome", "snapshot_id", "finished_on", "started_on", "threshold_id",
                             *provenance.fields_for(Evaluation), *OUTCOME_TERM_FIELDS))  # fmt: skip
    dates = [s.available_from for s in snapshots if s.available_from]
    dates += [drawn for e in evaluations if (drawn := _when(e))]
    dates += [d.effective_date for d in decisions if d.effective_date]
    if not dates:
        return ""
    # A date typed far off (year 1 or 9999) would make the axis overflow or draw thousands of months:
    # the axis spans 1950–2150 at most, and a mark outside it is left out (counted as undated).
    dates = [d for d in dates if PLAUSIBLE[0] <= d <= PLAUSIBLE[1]]
    if not dates:
        return ""
    start, end = min(dates), max(dates)
    start = start.replace(day=1)
    end = (end.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)  # the next month's first day
    span = max((end - start).days, 1)

    def x(date: datetime.date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (date - start).days / span, 1)

    height = TOP + LANE * len(snapshots) + AXIS
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" class="timeline-chart" '
             f'role="img" aria-labelledby="tl-title"><title id="tl-title">{escape(model.name)}: snapshots, '
             f"evaluations and release decisions from {day(start)} to {day(end)}</title>"]  # fmt: skip
    month = start
    while month <= end:  # ticks and faint month lines
        top, bottom = TOP - 6, height - AXIS + 4
        anchor = "end" if month == end else "middle"  # the last month's label stays inside the picture
        parts.append(f'<line x1="{x(month)}" y1="{top}" x2="{x(month)}" y2="{bottom}" class="grid" stroke="#e3e6ea"/>'
                     f'<text x="{x(month)}" y="{height - AXIS + 20}" class="tick" text-anchor="{anchor}">'
                     f"{month:%b %Y}</text>")  # fmt: skip
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    for lane, snapshot in enumerate(snapshots):
        y = TOP + LANE * lane + LANE / 2
        mine = [e for e in evaluations if e.snapshot_id == snapshot.pk]
        undated = sum(1 for e in mine if not _when(e))
        undated_decisions = sum(1 for d in decisions if d.snapshot_id == snapshot.pk and not d.effective_date)
        note = f"{len(mine)} evaluation{'s' if len(mine) != 1 else ''}" + (f", {undated} undated" if undated else "")
        if undated_decisions:
            note += f"; {undated_decisions} decision{'s' if undated_decisions != 1 else ''} undated"
        parts.append(f'<text x="8" y="{y - 4}" class="lane">{escape(snapshot.name)}</text>'
                     f'<text x="8" y="{y + 12}" class="note">{note}</text>'
                     f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" class="lane-line" '
                     f'stroke="#b8bec6"/>')  # fmt: skip
        if snapshot.available_from and PLAUSIBLE[0] <= snapshot.available_from <= PLAUSIBLE[1]:
            sx = x(snapshot.available_from)
            parts.append(f'<rect x="{sx - 1.5}" y="{y - 16}" width="3" height="32" class="snapshot-start" '
                         f'fill="#1e2a3a"><title>{escape(snapshot.name)} available from '
                         f"{day(snapshot.available_from)}{escape(_marked(snapshot))}</title></rect>")  # fmt: skip
        for evaluation in mine:
            when = _when(evaluation)
            if not when:
                continue
            css = OUTCOME_CLASS.get(evaluation.outcome, "neutral")
            label = f"{evaluation.title}: {evaluation.outcome_label}, {day(when)}" + _marked(evaluation)
            parts.append(f'<a href="{evaluation.get_absolute_url()}" aria-label="{escape(label)}">'
                         f'<circle cx="{x(when)}" cy="{y - 8}" r="5" class="outcome-{css}" '
                         f'fill="{FILL[css]}"><title>{escape(label)}</title></circle></a>')  # fmt: skip
        labels: list[float] = []  # where this lane's decision labels are, so two on one date do not overlap
        for decision in decisions:
            if decision.snapshot_id != snapshot.pk or not decision.effective_date:
                continue
            if not PLAUSIBLE[0] <= decision.effective_date <= PLAUSIBLE[1]:
                continue
            dx, dy = x(decision.effective_date), y + 10
            stacked = sum(1 for at in labels if abs(at - dx) < 40)
            labels.append(dx)
            label = (f"{decision}: {decision.get_scope_display()}, {decision.review_state.label}, "
                     f"{day(decision.effective_date)}") + _marked(decision)  # fmt: skip
            status = decision.review_state.css.split()[0]
            fill = FILL.get(decision.scope, "#555")
            parts.append(f'<a href="{decision.get_absolute_url()}" aria-label="{escape(label)}">'
                         f'<path d="M{dx} {dy - 8} L{dx + 8} {dy} L{dx} {dy + 8} L{dx - 8} {dy} Z" '
                         f'class="scope-{decision.scope} {decision.review_state.css}" fill="{fill}" '
                         f'stroke="#1e2a3a" stroke-width="1.5" {STROKE.get(status, "")}>'
                         f"<title>{escape(label)}</title></path>"
                         f'<text x="{dx + 11 + 26 * stacked}" y="{dy + 4}" class="decision-label">'
                         f"{escape(decision.reference or decision.pk)}</text></a>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
