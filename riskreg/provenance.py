"""Where each fact comes from, said one way by every output (issue 28).

A record carries its provenance (`riskreg.sources.Sourced`: source section, how sure, note; a decision
also whether it was recorded from a published source). The pages, the lists and their CSVs, the
model and transparency reports (HTML, JSON, PDF), the decision record and the API all say it through
this module: `of(record)` or `of_row(model, row)` gives a `Provenance`, which has one text form
(`text`, for CSV cells, PDF lines and report lines), one JSON shape (`as_json()`) and one HTML form
(the `provenance` template tags, riskreg/templatetags/provenance.py).

Kinds of origin (`Origin`), never to be confused by a reader:
- recorded from a source: the fact is the source's (a section of it), with a mark saying how sure:
  verified in it, from a secondary source only, not verifiable, or riskreg's inference;
- an illustration: made up in riskreg to show how it works; the source does not say it;
- entered here, or decided here for a decision (which keeps a mark it was given: decided on a secondary
  source, say); imported from an evaluation log.

Some values on a recorded fact are not the source's at all but the recorder's reading of it — a
confidence the source does not state, a risk's scores, treatment, status and owner, an incident's
classification (READINGS); an imported run's outcome, the import rule's (IMPORTED_READINGS). `readings`
names them, so that every output marks them as riskreg's reading, not the source's.
"""

import functools
from dataclasses import dataclass

from django.db import models

from riskreg.sources import SourceMark

READING = "riskreg's reading"
READING_TITLE = "Assigned in riskreg: the source does not state it."


class Origin(models.TextChoices):
    RECORDED = "recorded", "Recorded from a source"
    ILLUSTRATION = "illustration", "Illustration (not in the source)"
    IMPORTED = "imported", "Imported from an evaluation log"
    ENTERED = "entered", "Entered in riskreg"
    DECIDED = "decided", "Decided in riskreg"


MARK_LABELS = {value: str(label) for value, label in SourceMark.choices}

MARK_WORDS: dict[str, str] = {
    SourceMark.VERIFIED: "verified", SourceMark.SECONDARY: "secondary", SourceMark.UNVERIFIED: "not verifiable",
    SourceMark.INFERRED: "inference", SourceMark.ILLUSTRATION: "illustration", SourceMark.IMPORTED: "imported",
}  # fmt: skip

# The marks a reader must not miss: anything but a fact verified in its source.
FLAGGED_MARKS = (SourceMark.SECONDARY, SourceMark.UNVERIFIED, SourceMark.INFERRED, SourceMark.ILLUSTRATION)


@dataclass(frozen=True)
class Reading:
    """A value the recorder assigns to a recorded fact (the source does not state it)."""

    name: str  # as the outputs name it, e.g. "confidence"
    fields: tuple[str, ...]  # the model fields holding it
    unstated: tuple = ("", None, "not_stated")  # values meaning "nothing assigned": no marker then


# Per model (app_label.ModelName): the values that are riskreg's reading when the record is recorded
# from a source. On an imported record the outcome is the import rule's classification, also a reading.
READINGS: dict[str, tuple[Reading, ...]] = {
    "evaluations.Evaluation": (Reading("confidence", ("confidence",)),),
    "decisions.Determination": (Reading("confidence", ("confidence",)),),
    "risks.Risk": (
        Reading("scores", ("inherent_likelihood", "inherent_impact", "residual_likelihood", "residual_impact")),
        Reading("treatment", ("treatment",)),
        Reading("status", ("status",)),
        Reading("owner", ("owner", "owner_user_id")),
        Reading("confidence", ("confidence",)),
        Reading("next review", ("next_review",)),
    ),
    # Whether what the source reports is a serious incident or a near miss is the recorder's classification.
    "filings.Incident": (Reading("kind", ("kinds",), unstated=("", None, [])),),
}
IMPORTED_READINGS = (Reading("outcome", ("outcome",)), Reading("confidence", ("confidence",)))


@dataclass(frozen=True)
class Provenance:
    origin: str  # an Origin value
    mark: str  # a SourceMark value; "" when the record has no source (entered or decided here)
    section: str = ""
    note: str = ""
    readings: tuple[str, ...] = ()  # names of the values that are riskreg's reading

    @property
    def origin_label(self) -> str:
        return str(Origin(self.origin).label)

    @property
    def mark_label(self) -> str:
        return MARK_LABELS.get(self.mark, "")

    @property
    def mark_word(self) -> str:
        """The mark in a word or two, for a narrow cell (its full label beside it on hover and in a footnote)."""
        return MARK_WORDS.get(self.mark, "")

    @property
    def is_illustration(self) -> bool:
        return self.origin == Origin.ILLUSTRATION

    @property
    def is_recorded(self) -> bool:
        return self.origin == Origin.RECORDED

    @property
    def flagged(self) -> bool:
        """Whether a reader must be told more than "verified in the source" or "entered here"."""
        return self.mark in FLAGGED_MARKS

    @property
    def where(self) -> str:
        """The section as cited: "§2.2.5.1"; a section naming its own document ("alignment risk update §5.4.4")
        as it is."""
        return cited(self.section)

    @property
    def short(self) -> str:
        """For a list's cell: the section and the mark, or the origin where there is no source."""
        if self.origin == Origin.RECORDED:
            return f"{self.where} · {self.mark_label}" if self.section else self.mark_label
        if self.origin == Origin.DECIDED and self.mark:  # decided here on facts from a source: both are said
            return " · ".join(filter(None, [self.origin_label, self.where, self.mark_label]))
        return self.origin_label

    @property
    def text(self) -> str:
        """One line: where it comes from, its section, how sure. The same words on every output."""
        if self.origin == Origin.RECORDED:
            where = f"{self.origin_label}, {self.where}" if self.section else self.origin_label
            return f"{where} — {self.mark_label}"
        if self.origin == Origin.DECIDED and self.mark:
            where = f"{self.origin_label}, on {self.where}" if self.section else self.origin_label
            return f"{where} — {self.mark_label}"
        return self.origin_label

    @property
    def readings_text(self) -> str:
        """'' or e.g. "confidence and scores are riskreg's reading"."""
        if not self.readings:
            return ""
        names = list(self.readings)
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"{joined} {'is' if len(names) == 1 else 'are'} {READING}"

    def reads(self, name: str) -> bool:
        return name in self.readings

    def as_json(self) -> dict:
        """The one JSON shape of a record's provenance."""
        return {"origin": self.origin, "origin_label": self.origin_label, "mark": self.mark or None,
                "mark_label": self.mark_label or None, "section": self.section or None, "note": self.note or None,
                "riskreg_readings": list(self.readings), "text": self.text}  # fmt: skip


def cited(section: str) -> str:
    """A source section as cited: "2.2.5.1" → "§2.2.5.1"; one naming its own document ("alignment risk update
    §5.4.4") as it is; "" for none."""
    if not section:
        return ""
    return f"§{section}" if section[:1].isdigit() else section


def _origin(mark: str, section: str, recorded_decision: bool | None) -> str:
    if mark == SourceMark.ILLUSTRATION:
        return Origin.ILLUSTRATION
    if mark == SourceMark.IMPORTED:
        return Origin.IMPORTED
    if recorded_decision is not None:  # a decision: recorded from a published source, or decided here
        return Origin.RECORDED if recorded_decision else Origin.DECIDED
    if section or mark != SourceMark.VERIFIED:
        return Origin.RECORDED
    return Origin.ENTERED


def make(label: str, values: dict, recorded_decision: bool | None = None) -> Provenance:
    """The provenance of a record of model `label` (app_label.ModelName) from its field values."""
    mark, section = values.get("source_mark") or SourceMark.VERIFIED, values.get("source_section") or ""
    specs = READINGS.get(label, ()) + (IMPORTED_READINGS if label == "evaluations.Evaluation" else ())
    assigned = tuple(any(values.get(f) not in spec.unstated for f in spec.fields) for spec in specs)
    return _made(label, mark, section, values.get("source_note") or "", recorded_decision, assigned)


@functools.lru_cache(maxsize=4096)  # a CSV of 100,000 rows repeats a few hundred provenances
def _made(label: str, mark: str, section: str, note: str, recorded_decision: bool | None,
          assigned: tuple[bool, ...]) -> Provenance:  # fmt: skip
    origin = _origin(mark, section, recorded_decision)
    own = READINGS.get(label, ())
    if origin == Origin.RECORDED:
        specs = [(spec, is_set) for spec, is_set in zip(own, assigned, strict=False)]
    elif origin == Origin.IMPORTED and label == "evaluations.Evaluation":
        specs = list(zip(IMPORTED_READINGS, assigned[len(own):], strict=True))
    else:
        specs = []
    readings = tuple(spec.name for spec, is_set in specs if is_set)
    # A decision decided here keeps a mark it was given, or a section it cites: what it rests on came from a
    # source (a secondary one, say), and a reader must see that too. Entered records have no source at all.
    keeps = origin in (Origin.RECORDED, Origin.ILLUSTRATION, Origin.IMPORTED) or (
        origin == Origin.DECIDED and (mark != SourceMark.VERIFIED or bool(section)))
    return Provenance(origin=origin, mark=mark if keeps else "", section=section, note=note,
                      readings=readings)  # fmt: skip


def _label(model) -> str:
    return model._meta.label


def fields_for(model) -> list[str]:
    """The fields `of_row` needs in a row of `model` read with values()."""
    fields = ["source_mark", "source_section", "source_note"]
    if _label(model) == "decisions.ReleaseDecision":
        fields.append("provenance")
    specs = READINGS.get(_label(model), ()) + (IMPORTED_READINGS if _label(model) == "evaluations.Evaluation" else ())
    for spec in specs:
        fields += [f for f in spec.fields if f not in fields]
    return fields


def _recorded_decision(label: str, provenance_value) -> bool | None:
    if label != "decisions.ReleaseDecision":
        return None
    from riskreg.decisions.models import Provenance as DecisionProvenance

    return provenance_value == DecisionProvenance.PUBLISHED_SOURCE


def of_row(model, row: dict) -> Provenance:
    """The provenance of a row read with values(*fields_for(model), ...)."""
    label = _label(model)
    return make(label, row, _recorded_decision(label, row.get("provenance")))


def reader(model, names: list[str]):
    """A function giving the provenance of a row read with values_list(*names), where `names` holds
    fields_for(model): for a CSV's thousands of rows, without a dict a row."""
    label = _label(model)
    at = {name: names.index(name) for name in fields_for(model)}
    specs = READINGS.get(label, ()) + (IMPORTED_READINGS if label == "evaluations.Evaluation" else ())
    columns = [(spec.unstated, [at[f] for f in spec.fields]) for spec in specs]
    mark_at, section_at, note_at = at["source_mark"], at["source_section"], at["source_note"]
    decision_at = at.get("provenance")
    if decision_at is not None:
        from riskreg.decisions.models import Provenance as DecisionProvenance

        published = DecisionProvenance.PUBLISHED_SOURCE

    def read(row: tuple) -> Provenance:
        assigned = tuple(any(row[i] not in unstated for i in where) for unstated, where in columns)
        recorded = None if decision_at is None else row[decision_at] == published
        return _made(label, row[mark_at] or SourceMark.VERIFIED, row[section_at] or "", row[note_at] or "", recorded,
                     assigned)  # fmt: skip

    return read


def of(record) -> Provenance:
    """The provenance of a saved or unsaved record of a Sourced model."""
    label = _label(type(record))
    values = {field: getattr(record, field, None) for field in fields_for(type(record))}
    return make(label, values, _recorded_decision(label, values.get("provenance")))


def notice(record) -> str:
    """What a generated document says at its top about the decision it is made from ('' for one decided here)."""
    p = of(record)
    if p.origin == Origin.ILLUSTRATION:
        return ("An illustration made in riskreg: this decision is not in the source; it was entered and signed here "
                "to show how riskreg works" + (f" ({p.note})" if p.note else "") + ".")  # fmt: skip
    if p.origin == Origin.RECORDED:
        where = f" ({p.where})" if p.where else ""
        note = f" {p.note.rstrip('.')}." if p.note else ""
        return (f"Recorded from a published source{where}, marked “{p.mark_label.lower()}”.{note} The decision was "
                "made elsewhere and riskreg holds it as the source reports it; nobody signed it here. The document "
                "shows what riskreg can fill from the record and what the source does not provide.")  # fmt: skip
    return ""


def named(record) -> str:
    """A record's name, with its mark where a reader must not miss it: "ILLUS-1 … (Illustration (not in the source))"
    — for a line of text that names a record (a task, a mail) rather than states its facts."""
    p = of(record)
    return f"{record} ({p.mark_label})" if p.flagged else str(record)
