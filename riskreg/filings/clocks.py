"""Legal clocks: when each report on an incident is due, from the rules in obligations.json.

Periods in hours run in absolute time. Days, weeks and months run on the regime's own calendar:
"within 2 days" of becoming aware at 10:00 in Brussels is due at 10:00 Brussels time two days
later, whatever the daylight-saving change in between. Business days skip Saturdays and Sundays
in the regime's time zone (public holidays are not known here: the clock says so). Where several
rules give one report (an incident that is both a death and a cyber breach), the earliest due
time governs.
"""

import calendar
import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.utils import timezone

from .rules import REPORT_KINDS, DeadlineRule, Regime, rules

if TYPE_CHECKING:
    from .models import Incident, IncidentReport

SOON = datetime.timedelta(days=2)  # a clock this close to its due time is shown and mailed as due soon


def add(start: datetime.datetime, amount: int, unit: str, zone: datetime.tzinfo) -> datetime.datetime:
    """`start` plus a period, on `zone`'s calendar for days, weeks, months and business days."""
    if timezone.is_naive(start):
        raise ValueError("a clock starts at an aware date and time")
    if unit == "hours":
        return start + datetime.timedelta(hours=amount)
    local = start.astimezone(zone).replace(tzinfo=None)
    if unit in ("days", "weeks"):
        local += datetime.timedelta(days=amount * (7 if unit == "weeks" else 1))
    elif unit == "months":
        month = local.month - 1 + amount
        year, month = local.year + month // 12, month % 12 + 1
        local = local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))
    elif unit == "business_days":
        left = amount
        while left:
            local += datetime.timedelta(days=1)
            if local.weekday() < 5:
                left -= 1
    else:
        raise ValueError(f"unknown unit {unit!r}")
    return local.replace(tzinfo=zone).astimezone(datetime.UTC)


@dataclass
class Clock:
    """One report an incident owes one regime: when it is due, and whether it was sent."""

    regime: Regime
    report: str  # a REPORT_KINDS key
    due: datetime.datetime | None  # None: not running yet (waiting for `waiting_for`)
    rules: list[DeadlineRule]  # the ones that give it; the first gives the due time
    sent: "IncidentReport | None" = None  # the report that answers it
    waiting_for: str = ""

    @property
    def label(self) -> str:
        return f"{self.regime.short}: {REPORT_KINDS[self.report].lower()}"

    @property
    def to(self) -> str:
        return self.rules[0].to or self.regime.authority

    @property
    def source(self) -> str:
        return self.rules[0].source

    def state(self, now: datetime.datetime | None = None) -> str:
        now = now or timezone.now()
        if self.sent is not None:
            return "sent late" if self.due and self.sent.sent_at > self.due else "sent"
        if self.due is None:
            return "waiting"
        if now > self.due:
            return "overdue"
        return "due soon" if self.due - now <= SOON else "due"

    def words(self, now: datetime.datetime | None = None) -> str:
        """e.g. 'due in 1 day 4 hours', 'overdue by 3 hours', 'sent 2 Apr 2026 09:00 UTC'."""
        now = now or timezone.now()
        state = self.state(now)
        if state.startswith("sent"):  # so there is a report
            sent_at = cast("IncidentReport", self.sent).sent_at
            return f"{state} {sent_at.astimezone(datetime.UTC):%-d %b %Y %H:%M} UTC"
        if state == "waiting":
            return f"starts when {self.waiting_for}"
        left = cast(datetime.datetime, self.due) - now  # neither sent nor waiting: it has a due time
        return f"overdue by {span(-left)}" if left < datetime.timedelta(0) else f"due in {span(left)}"

    @property
    def open(self) -> bool:
        return self.sent is None and self.due is not None


def span(delta: datetime.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    return " ".join(words) or "less than a minute"


def _rules_for(incident: "Incident") -> list[DeadlineRule]:
    """The rules that apply: of the incident's regimes, for its kinds, from the day each regime is in force."""
    kinds, regimes = set(incident.kinds), set(incident.jurisdictions)
    known = rules().regimes
    aware = incident.aware_at.astimezone(datetime.UTC).date() if incident.aware_at else None
    return [rule for rule in rules().deadlines if rule.regime in regimes and rule.kinds & kinds
            and (aware is None or known[rule.regime].in_force <= aware)]  # fmt: skip


def _answers(report: "IncidentReport", incident: "Incident", kind: str) -> bool:
    """Whether a report sent answers a clock for `kind`: of that kind, and sent when it could be (a final
    report once resolved; none before the developer became aware)."""
    if report.kind != kind:
        return False
    if incident.aware_at is not None and report.sent_at < incident.aware_at:
        return False
    return not (kind == "final" and (incident.resolved_at is None or report.sent_at < incident.resolved_at))


def clocks(incident: "Incident", reports: "Iterable[IncidentReport] | None" = None) -> list[Clock]:
    """Every report the incident owes, earliest due first; `reports` are its IncidentReports (read if not given)."""
    reports = list(incident.reports.all()) if reports is None else list(reports)
    regimes = rules().regimes
    by_report: dict[tuple[str, str], list[DeadlineRule]] = {}
    for rule in _rules_for(incident):
        by_report.setdefault((rule.regime, rule.report), []).append(rule)
    found: list[Clock] = []
    for (regime_slug, report), group in by_report.items():
        regime = regimes[regime_slug]
        sent_here = sorted((r for r in reports if r.regime == regime_slug), key=lambda r: r.sent_at)
        if group[0].repeats:
            found += _repeating(incident, regime, report, group, sent_here)
            continue
        due, waiting = None, ""
        candidates = []
        for rule in group:
            start = {"aware": incident.aware_at, "resolved": incident.resolved_at}.get(rule.start)
            if start is not None:
                candidates.append((add(start, rule.amount, rule.unit, regime.zone), rule))
        if candidates:
            candidates.sort(key=lambda pair: pair[0])
            due, group = candidates[0][0], [candidates[0][1]] + [r for r in group if r is not candidates[0][1]]
        else:
            waiting = "the incident is resolved" if group[0].start == "resolved" else "you record when you became aware"
        answer = next((r for r in sent_here if _answers(r, incident, report)), None)
        found.append(Clock(regime, report, due, group, answer, waiting))
    return sorted(found, key=lambda c: (c.due is None, c.due or datetime.datetime.max.replace(tzinfo=datetime.UTC)))


def _repeating(
    incident: "Incident", regime: Regime, report: str, group: list[DeadlineRule], sent_here: "list[IncidentReport]"
) -> list[Clock]:
    """'At least every 4 weeks while unresolved': due a period after the last report, until it is resolved."""
    rule = group[0]
    # Only the initial report starts it, and only intermediate reports answer it (an amended one does not).
    initial = next((r for r in sent_here if _answers(r, incident, "initial")), None)
    if initial is None:
        return [Clock(regime, report, None, group, None, "the initial report is sent")]
    sent_here = [initial] + [r for r in sent_here if r.kind == report and r.sent_at > initial.sent_at]
    clocks_ = []
    last = sent_here[0]
    for later in sent_here[1:]:  # each report sent within the period answers the clock it ran on
        due = add(last.sent_at, rule.amount, rule.unit, regime.zone)
        if incident.resolved_at is not None and incident.resolved_at <= due:
            break
        clocks_.append(Clock(regime, report, due, group, later))
        last = later
    due = add(last.sent_at, rule.amount, rule.unit, regime.zone)
    if incident.resolved_at is None or incident.resolved_at > due:
        clocks_.append(Clock(regime, report, due, group, None))
    return clocks_


def open_clocks(incident: "Incident", reports: "Iterable[IncidentReport] | None" = None) -> list[Clock]:
    return [clock for clock in clocks(incident, reports) if clock.open]


# -- what is due, for My work and mail -----------------------------------------------------------------

def running(now: datetime.datetime | None = None, limit: int = 1000) -> list[tuple["Incident", Clock]]:
    """(incident, clock) for every open clock of incidents that may still owe a report, earliest first.

    An incident may owe one while it is unresolved or has no final report yet, however old; read with its
    reports in two queries, the oldest awareness first, at most `limit` of them."""
    from django.db.models import F, Q

    from .models import Incident

    now = now or timezone.now()
    incidents = (Incident.objects.exclude(jurisdictions=[])
                 .filter(Q(resolved_at__isnull=True) | ~Q(reports__kind="final")).distinct()
                 .prefetch_related("reports").order_by(F("aware_at").asc(nulls_last=True), "id")[:limit])  # fmt: skip
    found = [(incident, clock) for incident in incidents for clock in clocks(incident, incident.reports.all())
             if clock.open]  # fmt: skip
    return sorted(found, key=lambda pair: cast(datetime.datetime, pair[1].due))  # an open clock has a due time
