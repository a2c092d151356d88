"""The reporting rules as data: obligations.json, read once and checked strictly.

Every regime, incident kind, deadline and report outline lives in the file with its source, so a
changed law is a change to the data (committed and reviewed), never to this code. `FILING_RULES`
(a setting) names another file, e.g. a reviewed local copy. A file that does not make sense stops
the app at start-up with the reason, instead of computing wrong deadlines.
"""

import datetime
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_FILE = Path(__file__).with_name("obligations.json")
UNITS = {"hours", "days", "business_days", "weeks", "months"}
STARTS = {"aware", "resolved", "last_report"}
REPORT_KINDS = {
    "imminent": "Imminent-danger notice",
    "initial": "Initial report",
    "intermediate": "Intermediate report",
    "final": "Final report",
    "amended": "Amended report",
}


@dataclass(frozen=True)
class Regime:
    slug: str
    name: str
    short: str
    authority: str
    zone: ZoneInfo
    in_force: datetime.date
    source: str
    source_date: str  # "" where the file records none (source_note says why)
    source_note: str = ""


@dataclass(frozen=True)
class Kind:
    slug: str
    name: str
    regimes: tuple[str, ...]  # the regimes under which an incident of this kind is reportable


@dataclass(frozen=True)
class DeadlineRule:
    id: str
    regime: str
    report: str  # a REPORT_KINDS key
    kinds: frozenset
    amount: int
    unit: str
    start: str  # "aware", "resolved" or "last_report"
    repeats: bool  # "every" rather than "within": again after each report, while unresolved
    to: str
    source: str

    @property
    def words(self) -> str:
        """e.g. 'within 72 hours of becoming aware', 'at least every 4 weeks after the last report'."""
        start = {"aware": "of becoming aware", "resolved": "of its resolution", "last_report": "after the last report"}
        return f"{'at least every' if self.repeats else 'within'} {self.period} {start[self.start]}"

    @property
    def period(self) -> str:
        unit = self.unit.replace("_", " ")
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


@dataclass(frozen=True)
class Rules:
    about: str
    read_on: str
    systemic_risks: dict  # slug -> {"name", "long_name", "source", ...}
    regimes: dict  # slug -> Regime
    kinds: dict  # slug -> Kind
    deadlines: tuple
    periodic: tuple
    model_report: dict
    transparency_report: dict

    def kind_choices(self) -> list[tuple[str, str]]:
        return [(kind.slug, kind.name) for kind in self.kinds.values()]

    def regime_choices(self) -> list[tuple[str, str]]:
        return [(regime.slug, regime.short) for regime in self.regimes.values()]


class RulesError(ImproperlyConfigured):
    pass


def _need(item: dict, key: str, where: str, kind: type = str) -> Any:
    value = item.get(key)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise RulesError(f"{where}: '{key}' is missing or not a {kind.__name__}.")
    return value


def parse(data: dict, where: str = "obligations.json") -> Rules:
    """The rules from the file's JSON, or RulesError saying what is wrong and where."""
    if not isinstance(data, dict):
        raise RulesError(f"{where}: the file holds no JSON object.")
    risks = {}
    for item in _need(data, "systemic_risks", where, list):
        risks[_need(item, "slug", where)] = {**item, "name": _need(item, "name", where),
                                             "source": _need(item, "source", where)}  # fmt: skip
    regimes = {}
    for item in _need(data, "regimes", where, list):
        slug = _need(item, "slug", where)
        here = f"{where}, regime {slug}"
        try:
            zone = ZoneInfo(_need(item, "time_zone", here))
            in_force = datetime.date.fromisoformat(_need(item, "in_force", here))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise RulesError(f"{here}: {error}") from None
        if not item.get("source_date") and not item.get("source_note"):
            raise RulesError(f"{here}: give the source's date, or a source_note saying why it is not recorded.")
        regimes[slug] = Regime(slug, _need(item, "name", here), _need(item, "short", here),
                               _need(item, "authority", here), zone, in_force, _need(item, "source", here),
                               item.get("source_date", ""), item.get("source_note", ""))  # fmt: skip
    kinds = {}
    for item in _need(data, "incident_kinds", where, list):
        slug = _need(item, "slug", where)
        unknown = set(item.get("regimes", [])) - set(regimes)
        if unknown:
            raise RulesError(f"{where}, incident kind {slug}: unknown regime(s) {sorted(unknown)}.")
        kinds[slug] = Kind(slug, _need(item, "name", where), tuple(item.get("regimes", [])))
    deadlines = []
    for item in _need(data, "deadlines", where, list):
        rule_id = _need(item, "id", where)
        here = f"{where}, deadline {rule_id}"
        regime, report = _need(item, "regime", here), _need(item, "report", here)
        period = item.get("within") or item.get("every")
        if regime not in regimes or report not in REPORT_KINDS:
            raise RulesError(f"{here}: unknown regime '{regime}' or report '{report}'.")
        if not (isinstance(period, list) and len(period) == 2 and isinstance(period[0], int) and period[0] > 0
                and period[1] in UNITS):  # fmt: skip
            raise RulesError(f"{here}: 'within' or 'every' is [a positive whole number, one of {sorted(UNITS)}].")
        if _need(item, "from", here) not in STARTS:
            raise RulesError(f"{here}: 'from' is one of {sorted(STARTS)}.")
        unknown = set(_need(item, "kinds", here, list)) - set(kinds)
        if unknown:
            raise RulesError(f"{here}: unknown incident kind(s) {sorted(unknown)}.")
        deadlines.append(DeadlineRule(rule_id, regime, report, frozenset(item["kinds"]), period[0], period[1],
                                      item["from"], "every" in item, item.get("to", ""),
                                      _need(item, "source", here)))  # fmt: skip
    for name in ("model_report", "transparency_report"):
        _need(_need(data, name, where, dict), "source", f"{where}, {name}")
    return Rules(
        _need(data, "about", where), _need(data, "read_on", where), risks, regimes, kinds, tuple(deadlines),
        tuple(data.get("periodic", [])), data["model_report"], data["transparency_report"],
    )  # fmt: skip


@cache
def _load(path: str) -> Rules:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RulesError(f"The filing rules at {path} cannot be read: {error}") from None
    return parse(data, Path(path).name)


def rules() -> Rules:
    return _load(str(getattr(settings, "FILING_RULES", "") or DEFAULT_FILE))
