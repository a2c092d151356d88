"""The compliance gap: a systemic risk the GPAI Code names for which the decision's framework sets no tier.

Beside the coverage gap (a concerning result outside the framework's formal coverage), this is the
gap a regulator reading the Code sees: the framework version the decision was taken under has no
threshold (tier) for one of the Code's four systemic risks. It is read from the coverage as the
decision signed it (the digest's copy of the framework version) and the crosswalk.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from riskreg.frameworks.models import CoverageLevel, ThreatCategory

if TYPE_CHECKING:
    from riskreg.decisions.digest import Loaded

from .models import CodeRiskMapping
from .rules import rules


@dataclass
class Row:
    slug: str
    name: str
    categories: list = field(default_factory=list)  # (category name, coverage level label)
    notes: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    tiered: bool = False  # some mapped category has a formal threshold in the framework version
    mapped: bool = False

    @property
    def note(self) -> str:
        return " ".join(dict.fromkeys(self.notes))  # one note per mapped category, often the same

    @property
    def gap(self) -> bool:
        return not self.tiered

    @property
    def text(self) -> str:
        if not self.mapped:
            return f"{self.name}: the crosswalk maps no category of this framework version to it yet."
        if self.gap:
            where = ", ".join(f"{name} ({level.lower()})" for name, level in self.categories) or "no category"
            return f"{self.name}: no tier in this framework version — mapped to {where}."
        return f"{self.name}: tiered through {', '.join(name for name, _ in self.categories)}."


def compliance(version_id: int, coverage: list[dict]) -> list[Row]:
    """One row per Code systemic risk; `coverage` is the framework version's coverage rows as signed."""
    levels = {row["category_id"]: row["level"] for row in coverage}
    rows = {slug: Row(slug, risk["name"]) for slug, risk in rules().systemic_risks.items()}
    entries = list(CodeRiskMapping.objects.filter(framework_version_id=version_id).order_by("id"))
    names = dict(ThreatCategory.objects.filter(pk__in={e.category_id for e in entries}).values_list("id", "name"))
    for entry in entries:
        row = rows.get(entry.systemic_risk)
        if row is None:
            continue
        row.mapped = True
        if entry.note:
            row.notes.append(entry.note)
        if entry.source_section:
            row.sections.append(entry.source_section)
        if entry.category_id is not None:
            level = levels.get(entry.category_id, "")
            label = CoverageLevel(level).label if level else "Not stated"
            row.categories.append((names[entry.category_id], label))
            row.tiered |= level == CoverageLevel.FORMAL
    return list(rows.values())


def for_decision(loaded: "Loaded") -> list[Row]:
    return compliance(loaded.decision.framework_version_id, loaded.version["coverage"])
