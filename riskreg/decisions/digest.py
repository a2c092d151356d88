"""What a sign-off signs: a canonical JSON of the decision and everything it rests on.

The document (format 2) covers every content field of the decision, its determinations and gap
acknowledgements, the evaluations they cite with their evidence, and the framework version the
gate judged it by: its fields, required titles, coverage and thresholds. Each sign-off stores the
document and its SHA-256; if any part changes later the digest changes and the sign-off is stale.

Every concrete field of these models is either in FIELDS or in EXCLUDED with the reason
(tests/decisions/test_digest.py walks them). Adding a field to the document is a new format:
bump CONTENT_VERSION and keep the old lists, so sign-offs made before still verify as signed.

`load_many` reads what the digest covers for any number of decisions in a fixed number of
queries; the gate, the lists and the overview all use it.
"""

import hashlib
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Field, Model

from riskreg import provenance
from riskreg.audit.chain import jsonable
from riskreg.audit.verify import canonical_json
from riskreg.evaluations.models import OUTCOME_TERM_FIELDS, Evaluation, Evidence, Outcome, outcome_words
from riskreg.frameworks.models import Coverage, FrameworkVersion, ThreatCategory, Threshold

from .models import WATCHED_OUTCOMES, ConditionRule, Determination, GapAcknowledgement, ReleaseDecision, ReviewCondition

CONTENT_VERSION = 3

SOURCED = ["source_section", "source_mark", "source_note"]
FIELDS = {
    "decision": [
        "id", "snapshot_id", "framework_version_id", "reference", "title", "scope", "scope_details", "conditions",
        "rationale", "basis", "decided_by", "effective_date", "supersedes_id", "author_id", *SOURCED,
    ],
    "determination": [
        "id", "category_id", "threshold_id", "verdict", "confidence", "residual_risk", "reasoning", "safeguards",
        "safety_margin", *SOURCED,
    ],
    "gap": ["id", "category_id", "rationale", "acknowledged_by_id"],
    "condition": ["id", "text", "rule", "category_id", "outcome"],
    "evaluation": [
        "id", "snapshot_id", "category_id", "threshold_id", "title", "kind", "run_by", "is_external", "started_on",
        "finished_on", "finding", "score", "score_unit", "score_note", "comparisons", "outcome", "confidence",
        "recorded_by_id", *SOURCED,
    ],
    "evidence": [
        "id", "kind", "title", "original_name", "content_type", "size", "sha256", "url", "note", "replaces_id",
        "added_by_id",
    ],
    "framework_version": ["id", "framework_id", "version", "effective_date", "summary", *SOURCED],
    "coverage": ["id", "category_id", "level", "note", *SOURCED],
    "threshold": [
        "id", "category_id", "code", "name", "definition", "operationalisation", "response",
        "response_deployment", "response_safeguards", "response_report", "crossed_term", "not_crossed_term",
        *SOURCED,
    ],
}  # fmt: skip

EXCLUDED = {
    "decision": {
        "status": "the lifecycle state, moved by the steps; signing moves it, so it cannot be signed",
        "provenance": "set by the record step together with the status",
        "created_at": "when the row was written, not what was decided",
        "revises_id": "where a draft came from (a rejected decision); set once by the revise step, never content",
    },
    "determination": {"decision_id": "implied: the determination sits inside its decision's document"},
    "gap": {
        "decision_id": "implied: the acknowledgement sits inside its decision's document",
        "acknowledged_at": "when the row was written",
    },
    "evaluation": {"recorded_at": "when the row was written"},
    "evidence": {
        "evaluation_id": "implied: the evidence sits inside its evaluation",
        "file": "a random storage name; size and SHA-256 cover the bytes",
        "added_at": "when the row was written",
    },
    "framework_version": {},
    "coverage": {"framework_version_id": "implied: the coverage sits inside its framework version"},
    "threshold": {"framework_version_id": "implied: the threshold sits inside its framework version"},
    "condition": {"decision_id": "implied: the condition sits inside its decision's document"},
}

MODELS = {
    "decision": ReleaseDecision, "determination": Determination, "gap": GapAcknowledgement,
    "condition": ReviewCondition,
    "evaluation": Evaluation, "evidence": Evidence, "framework_version": FrameworkVersion,
    "coverage": Coverage, "threshold": Threshold,
}  # fmt: skip

# The parts a decision's document holds: every model whose rows sit inside a decision (its decision_id is
# implied by where the row sits). Whoever writes any of them writes what a signature covers, so the author
# set (gate.authors_of) is read from this one list: a part added to the document is an authorship too.
PARTS: dict[str, Any] = {key: MODELS[key] for key, excluded in EXCLUDED.items() if "decision_id" in excluded}

# Format 2, as sign-offs before format 3 signed it: no safety margins, no review conditions.
V2_FIELDS = {**FIELDS, "determination": [name for name in FIELDS["determination"] if name != "safety_margin"]}

# Format 1, as sign-offs before format 2 signed it: kept so their digests can still be checked.
V1_FIELDS = {
    "decision": [
        "id", "snapshot_id", "framework_version_id", "reference", "title", "scope", "scope_details",
        "conditions", "rationale", "basis", "effective_date", "supersedes_id", "author_id",
    ],
    "determination": [
        "id", "category_id", "threshold_id", "verdict", "confidence", "residual_risk", "reasoning", "safeguards",
    ],
    "evaluation": [
        "id", "snapshot_id", "category_id", "threshold_id", "title", "kind", "run_by", "is_external",
        "started_on", "finished_on", "finding", "score", "score_unit", "score_note", "comparisons",
        "outcome", "confidence", "source_section",
    ],
    "evidence": ["id", "kind", "sha256", "url", "note", "replaces_id"],
}  # fmt: skip


@dataclass
class Loaded:
    """A decision and what its digest covers, as read by load_many."""

    decision: ReleaseDecision
    determinations: list[Determination]  # each with `.cited`: evaluation dicts with "evidence"
    gaps: list[GapAcknowledgement]
    version: dict = field(default_factory=dict)  # fields, "required_title_ids", "coverage", "thresholds"
    concerning: list = field(default_factory=list)  # the snapshot's concerning results (CONCERNING_FIELDS)
    conditions: list = field(default_factory=list)  # review conditions as dicts, each with "met_by" (format 3)


# The coverage-gap check reads every concerning result of the decision's snapshot, cited or not; a
# signature covers them too, so a new or changed one after approval is a material change, not a
# silent block.
CONCERNING_FIELDS = ["id", "title", "source_section", "category_id", "outcome"]


def load_many(decision_ids: Iterable[int]) -> dict[int, Loaded]:
    """What the digest covers for each decision, in nine queries whatever their number.

    Cited evaluations and their evidence are read as plain dicts (`determination.cited`), not model
    instances: a decision may cite thousands, and building instances was most of the gate's time.
    """
    decisions = ReleaseDecision.objects.select_related("framework_version__framework", "snapshot__model").in_bulk(
        list(decision_ids)
    )
    if not decisions:
        return {}
    ids = list(decisions)
    determinations = list(
        Determination.objects.filter(decision_id__in=ids).select_related("category").order_by("category_id", "id")
    )
    gaps = list(
        GapAcknowledgement.objects.filter(decision_id__in=ids).select_related("category").order_by("category_id")
    )
    citations = Determination.cited_evaluations.through.objects.filter(determination__decision_id__in=ids)
    evidence: dict[int, list] = {}
    for piece in (
        Evidence.objects.filter(evaluation_id__in=citations.values("evaluation_id"))
        .order_by("id")
        .values("evaluation_id", *FIELDS["evidence"])
    ):
        evidence.setdefault(piece.pop("evaluation_id"), []).append(piece)
    cited: dict[int, list] = {determination.pk: [] for determination in determinations}
    names = FIELDS["evaluation"]
    # Sorted here, not by the database: ORDER BY evaluation_id tempted PostgreSQL into walking the whole
    # evaluation table in id order to merge-join a few citations.
    rows = citations.order_by().values_list("determination_id", *[f"evaluation__{name}" for name in names])
    for row in sorted(rows, key=lambda row: row[1]):
        evaluation = dict(zip(names, row[1:], strict=True))
        evaluation["evidence"] = evidence.get(evaluation["id"], [])
        cited[row[0]].append(evaluation)

    version_ids = {decision.framework_version_id for decision in decisions.values()}
    versions = {
        row["id"]: {**row, "required_title_ids": [], "coverage": [], "thresholds": []}
        for row in FrameworkVersion.objects.filter(pk__in=version_ids).values(*FIELDS["framework_version"])
    }
    titles = FrameworkVersion.required_titles.through.objects.filter(frameworkversion_id__in=version_ids)
    for version_id, title_id in titles.order_by("governancetitle_id").values_list(
        "frameworkversion_id", "governancetitle_id"
    ):
        versions[version_id]["required_title_ids"].append(title_id)
    for key, model in (("coverage", Coverage), ("thresholds", Threshold)):
        part = "coverage" if key == "coverage" else "threshold"
        for row in (
            model.objects.filter(framework_version_id__in=version_ids)
            .order_by("id")
            .values("framework_version_id", *FIELDS[part])
        ):
            versions[row.pop("framework_version_id")][key].append(row)

    concerning: dict[int, list] = {}
    for row in (
        Evaluation.objects.filter(
            snapshot_id__in={decision.snapshot_id for decision in decisions.values()},
            outcome__in=Outcome.concerning(),
        )
        .order_by("id")
        # The name and the mark for the gate's report (neither is signed: _fields keeps CONCERNING_FIELDS).
        .values("snapshot_id", "category__name", "source_mark", *CONCERNING_FIELDS)
    ):
        concerning.setdefault(row.pop("snapshot_id"), []).append(row)

    loaded = {
        pk: Loaded(decision, [], [], versions[decision.framework_version_id], concerning.get(decision.snapshot_id, []))
        for pk, decision in decisions.items()
    }
    for determination in determinations:
        determination.cited = cited[determination.pk]
        loaded[determination.decision_id].determinations.append(determination)
    for gap in gaps:
        loaded[gap.decision_id].gaps.append(gap)
    _load_conditions(loaded)
    return loaded


def _load_conditions(loaded: dict[int, Loaded]) -> None:
    """Each decision's review conditions, and what in the record meets each rule, in at most three queries.

    An evaluation rule is met by any evaluation of the decision's model (any snapshot) in its category with
    the named outcome or a graver one; an incident rule by any incident involving the model that is not a
    near miss. "met_by" lists them ("E12", "INC-3"), so the signed document changes when one appears.
    """
    rows = list(ReviewCondition.objects.filter(decision_id__in=list(loaded)).order_by("id")
                .values("decision_id", *FIELDS["condition"]))  # fmt: skip
    if not rows:
        return
    model_of = {pk: item.decision.snapshot.model_id for pk, item in loaded.items()}
    watched = {(model_of[row["decision_id"]], row["category_id"])
               for row in rows if row["rule"] == ConditionRule.EVALUATION}  # fmt: skip
    found: dict[tuple, list] = {}
    if watched:
        for model_id, category_id, outcome, pk in (
            Evaluation.objects.filter(snapshot__model_id__in={m for m, _ in watched},
                                      category_id__in={c for _, c in watched}, outcome__in=WATCHED_OUTCOMES)
            .order_by("id").values_list("snapshot__model_id", "category_id", "outcome", "id")
        ):  # fmt: skip
            found.setdefault((model_id, category_id), []).append((outcome, pk))
    incidents: dict[int, list] = {}
    if any(row["rule"] == ConditionRule.INCIDENT for row in rows):
        from riskreg.filings.models import Incident  # filings builds on decisions: read lazily

        for model_id, kinds, pk in (Incident.objects.filter(model_id__in=set(model_of.values())).order_by("id")
                                    .values_list("model_id", "kinds", "id")):  # fmt: skip
            if any(kind != "near_miss" for kind in kinds or []):
                incidents.setdefault(model_id, []).append(f"INC-{pk}")
    rank = {outcome: i for i, outcome in enumerate(WATCHED_OUTCOMES)}
    for row in rows:
        model_id = model_of[row["decision_id"]]
        if row["rule"] == ConditionRule.EVALUATION:
            least = rank.get(row["outcome"], len(rank))
            row["met_by"] = [f"E{pk}" for outcome, pk in found.get((model_id, row["category_id"]), [])
                             if rank[outcome] >= least]  # fmt: skip
        elif row["rule"] == ConditionRule.INCIDENT:
            row["met_by"] = incidents.get(model_id, [])
        else:
            row["met_by"] = []
        loaded[row.pop("decision_id")].conditions.append(row)


def load(decision_id: int) -> Loaded:
    return load_many([decision_id])[decision_id]


def _fields(obj: object, names: Iterable[str]) -> dict:
    if isinstance(obj, dict):
        return {name: jsonable(obj[name]) for name in names}
    return {name: jsonable(getattr(obj, name)) for name in names}


def signed_content(loaded: Loaded, version: int = CONTENT_VERSION) -> dict:
    """The document a sign-off covers, in format `version`, from what load_many read."""
    if version == 1:
        return _content_v1(loaded)
    if version not in (2, 3):
        raise ValueError(f"Unknown signed-document format {version}.")
    fields = V2_FIELDS if version == 2 else FIELDS
    framework = loaded.version
    content = {
        "format": version,
        "decision": _fields(loaded.decision, FIELDS["decision"]),
        "framework_version": {
            **_fields(framework, FIELDS["framework_version"]),
            "required_title_ids": list(framework["required_title_ids"]),
            "coverage": [_fields(row, FIELDS["coverage"]) for row in framework["coverage"]],
            "thresholds": [_fields(row, FIELDS["threshold"]) for row in framework["thresholds"]],
        },
        "determinations": [
            {
                **_fields(determination, fields["determination"]),
                "cited_evaluations": [
                    {
                        **_fields(evaluation, FIELDS["evaluation"]),
                        "evidence": [_fields(piece, FIELDS["evidence"]) for piece in evaluation["evidence"]],
                    }
                    for evaluation in determination.cited
                ],
            }
            for determination in loaded.determinations
        ],
        "gap_acknowledgements": [_fields(gap, FIELDS["gap"]) for gap in loaded.gaps],
        "concerning_results": [_fields(row, CONCERNING_FIELDS) for row in loaded.concerning],
    }
    if version == 3:
        content["review_conditions"] = [
            {**_fields(row, FIELDS["condition"]), "met_by": list(row["met_by"])} for row in loaded.conditions
        ]
    return content


def _content_v1(loaded: Loaded) -> dict:
    return {
        "decision": _fields(loaded.decision, V1_FIELDS["decision"]),
        "determinations": [
            {
                **_fields(determination, V1_FIELDS["determination"]),
                "cited_evaluations": [
                    {
                        **_fields(evaluation, V1_FIELDS["evaluation"]),
                        "evidence": [_fields(piece, V1_FIELDS["evidence"]) for piece in evaluation["evidence"]],
                    }
                    for evaluation in determination.cited
                ],
            }
            for determination in loaded.determinations
        ],
        "gap_acknowledgements": [{"category_id": gap.category_id, "rationale": gap.rationale} for gap in loaded.gaps],
    }


def digest_of(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def current_content(decision: ReleaseDecision, version: int = CONTENT_VERSION) -> dict:
    """The decision's signed document as the database holds it now."""
    return signed_content(load(decision.pk), version)


def decision_digest(decision: ReleaseDecision) -> str:
    return digest_of(current_content(decision))


# -- what changed, in words ------------------------------------------------------------------------


@dataclass
class Change:
    """One record whose content differs from what was signed, with the differences in words."""

    label: str
    details: list[str]
    model: type[Model] | None = None
    pk: int | None = None
    notes: list[str] = field(default_factory=list)  # who changed it, when, and why (added by the gate)

    @property
    def text(self) -> str:
        text = f"{self.label}: {'; '.join(self.details)}"
        return f"{text}; {'; '.join(self.notes)}" if self.notes else text


def _by_id(items: Iterable[Any] | None) -> dict:
    return {item["id"]: item for item in items or [] if isinstance(item, dict) and "id" in item}


def _show(model: type[Model], name: str, value: Any, categories: dict) -> str:
    if value is None or value == "":
        return "—"
    if name == "category_id":
        return categories.get(value, f"#{value}")
    field_ = _field(model, name)
    if field_ is not None and field_.choices:
        return str(dict(field_.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _field(model: type[Model], name: str) -> "Field | None":
    for candidate in model._meta.concrete_fields:
        if candidate.attname == name:
            return candidate
    return None


def _label_of(model: type[Model], name: str) -> str:
    found = _field(model, name)
    return str(found.verbose_name) if found is not None else name.replace("_", " ")


# Named first when they change: what a reader looks for before anything else.
FIRST = {"scope": 0, "verdict": 1, "outcome": 2, "score": 3, "level": 4}


def _field_changes(model: type[Model], old: dict, new: dict, categories: dict, skip: Container[str] = ()) -> list[str]:
    out = []
    for name in sorted(new, key=lambda name: FIRST.get(name, len(FIRST))):
        if name in skip or isinstance(new.get(name), (list, dict)) and name != "comparisons":
            continue
        if old.get(name) != new.get(name):
            label = _label_of(model, name)
            before, after = _show(model, name, old.get(name), categories), _show(model, name, new[name], categories)
            out.append(f"{label} {before} → {after}")
    return out


def _evaluation_label(evaluation: Mapping[str, Any]) -> str:
    """"Evaluation 'Cybench' (§3.2)", with its mark where a reader must not miss it (a secondary source, an
    inference, an illustration: riskreg.provenance) — when the row carries its mark."""
    title = evaluation.get("title", "#" + str(evaluation.get("id")))
    where = provenance.cited(evaluation.get("source_section") or "") or "§—"
    if evaluation.get("source_mark"):
        marked = provenance.make("evaluations.Evaluation", dict(evaluation))
        if marked.flagged:
            where += f" · {marked.mark_label}"
    return f"Evaluation '{title}' ({where})"


def _with_marks(rows: dict[int, dict]) -> dict[int, dict]:
    """Rows of signed content that hold no mark (concerning results), with each evaluation's mark and its
    threshold's words as they are now: the words of a change say where the result comes from, and its outcome
    as its framework words it, though the signature covers neither."""
    missing = [pk for pk, row in rows.items() if "source_mark" not in row]
    if not missing:
        return rows
    found = {pk: {"source_mark": mark, "crossed_term": crossed, "not_crossed_term": not_crossed} for pk, mark, crossed,
             not_crossed in Evaluation.objects.filter(pk__in=missing).values_list("pk", "source_mark",
                                                                                  *OUTCOME_TERM_FIELDS)}  # fmt: skip
    return {pk: ({**row, **found[pk]} if pk in found else row) for pk, row in rows.items()}


def describe_changes(old: dict, new: dict) -> list[Change]:
    """How two signed documents (of one format) differ, record by record, in words a person reads."""
    category_ids: set[int | None] = set()
    for document in (old, new):
        for part in ("determinations", "gap_acknowledgements", "concerning_results", "review_conditions"):
            category_ids.update(item.get("category_id") for item in document.get(part, []))
        for evaluation in _evaluations(document).values():
            category_ids.add(evaluation.get("category_id"))
        for part in ("coverage", "thresholds"):
            category_ids.update(row.get("category_id") for row in document.get("framework_version", {}).get(part, []))
    names = ThreatCategory.objects.filter(pk__in=category_ids - {None}).values_list("id", "name")
    categories: dict[int | None, str] = dict(names)
    changes: list[Change] = []

    details = _field_changes(ReleaseDecision, old.get("decision", {}), new.get("decision", {}), categories)
    if details:
        changes.append(Change("Decision", details, ReleaseDecision, new.get("decision", {}).get("id")))

    old_version, new_version = old.get("framework_version", {}), new.get("framework_version", {})
    details = _field_changes(FrameworkVersion, old_version, new_version, categories)
    if old_version.get("required_title_ids") != new_version.get("required_title_ids"):
        details.append("required titles changed")
    if details:
        changes.append(Change("Framework version", details, FrameworkVersion, new_version.get("id")))
    for part, model, noun in (("coverage", Coverage, "Coverage"), ("thresholds", Threshold, "Threshold")):
        changes += _list_changes(
            old_version.get(part), new_version.get(part), model,
            lambda row, noun=noun: f"{noun} of {categories.get(row.get('category_id'), '?')}"
            + (f" {row['code']}" if row.get("code") else ""),
            categories,
        )  # fmt: skip

    old_dets, new_dets = _by_id(old.get("determinations")), _by_id(new.get("determinations"))
    for pk in sorted(set(old_dets) | set(new_dets)):
        before, after = old_dets.get(pk), new_dets.get(pk)
        label = f"Determination for {categories.get(cast(dict, after or before).get('category_id'), '?')}"
        if before is None or after is None:
            changes.append(Change(label, ["added" if before is None else "removed"], Determination, pk))
            continue
        details = _field_changes(Determination, before, after, categories)
        old_cited = {e["id"]: e for e in before.get("cited_evaluations", [])}
        new_cited = {e["id"]: e for e in after.get("cited_evaluations", [])}
        details += [f"now cites {_evaluation_label(new_cited[e])}" for e in sorted(set(new_cited) - set(old_cited))]
        details += [
            f"no longer cites {_evaluation_label(old_cited[e])}" for e in sorted(set(old_cited) - set(new_cited))
        ]
        if details:
            changes.append(Change(label, details, Determination, pk))

    old_evaluations, new_evaluations = _evaluations(old), _evaluations(new)
    for pk in sorted(set(old_evaluations) & set(new_evaluations)):
        before, after = old_evaluations[pk], new_evaluations[pk]
        details = _field_changes(Evaluation, before, after, categories, skip={"evidence"})
        old_pieces, new_pieces = _by_id(before.get("evidence")), _by_id(after.get("evidence"))
        for piece_id in sorted(set(new_pieces) - set(old_pieces)):
            details.append(f"evidence added: {_piece(new_pieces[piece_id])}")
        for piece_id in sorted(set(old_pieces) - set(new_pieces)):
            details.append(f"evidence removed: {_piece(old_pieces[piece_id])}")
        for piece_id in sorted(set(old_pieces) & set(new_pieces)):
            if old_pieces[piece_id] != new_pieces[piece_id]:
                details.append(f"evidence changed: {_piece(new_pieces[piece_id])}")
        if details:
            changes.append(Change(_evaluation_label(after), details, Evaluation, pk))

    changes += _list_changes(
        old.get("gap_acknowledgements"), new.get("gap_acknowledgements"), GapAcknowledgement,
        lambda row: f"Gap acknowledgement for {categories.get(row.get('category_id'), '?')}", categories,
    )  # fmt: skip
    changes += _concerning_changes(old, new, set(old_evaluations) | set(new_evaluations), categories)
    changes += _condition_changes(old, new, categories)
    return changes


def conditions_in_words(loaded: Loaded) -> list[dict]:
    """The decision's review conditions for a page: rule in words, and what meets each, named."""
    refs = {ref for row in loaded.conditions for ref in row["met_by"]}
    words = met_by_words(refs) if refs else {}
    return [{**row, "rule_label": ConditionRule(row["rule"]).label,
             "met_words": [words.get(ref, ref) for ref in row["met_by"]]} for row in loaded.conditions]  # fmt: skip


def met_by_words(refs: Iterable[str]) -> dict[str, str]:
    """'E12' → "evaluation 'Cybench' (§3.2)", 'INC-3' → "incident INC-3 'Weights copied out'"."""
    from riskreg.filings.models import Incident

    evaluations = {f"E{row['id']}": _evaluation_label(row).replace("Evaluation", "evaluation", 1)
                   for row in Evaluation.objects.filter(pk__in=[int(r[1:]) for r in refs if r.startswith("E")])
                   .values("id", "title", "source_section", "source_mark")}  # fmt: skip
    incidents = {f"INC-{pk}": f"incident INC-{pk} '{title}'" for pk, title in
                 Incident.objects.filter(pk__in=[int(r[4:]) for r in refs if r.startswith("INC-")])
                 .values_list("id", "title")}  # fmt: skip
    return {**evaluations, **incidents}


def _condition_changes(old: dict, new: dict, categories: dict) -> list[Change]:
    """Review conditions added, removed or changed, and above all: a condition met since signing."""
    before, after = _by_id(old.get("review_conditions")), _by_id(new.get("review_conditions"))
    refs = {ref for rows in (before, after) for row in rows.values() for ref in row.get("met_by", [])}
    words = met_by_words(refs) if refs else {}
    changes = []
    for pk in sorted(set(before) | set(after)):
        row = after.get(pk) or before[pk]
        label = f"Review condition '{_show(ReviewCondition, 'text', row.get('text'), categories)}'"
        if pk not in before or pk not in after:
            changes.append(Change(label, ["added" if pk not in before else "removed"], ReviewCondition, pk))
            continue
        details = _field_changes(ReviewCondition, before[pk], after[pk], categories)
        newly = [ref for ref in after[pk].get("met_by", []) if ref not in before[pk].get("met_by", [])]
        gone = [ref for ref in before[pk].get("met_by", []) if ref not in after[pk].get("met_by", [])]
        if newly:
            was = "now met" if not before[pk].get("met_by") else "met again"
            details.insert(0, f"{was} by {', '.join(words.get(ref, ref) for ref in newly)}: the justification may "
                              "no longer hold")  # fmt: skip
        if gone:
            details.append(f"no longer met by {', '.join(words.get(ref, ref) for ref in gone)}")
        if details:
            changes.append(Change(label, details, ReviewCondition, pk))
    return changes


def _concerning_changes(old: dict, new: dict, cited: set, categories: dict) -> list[Change]:
    """Concerning results of the snapshot that appeared, went or changed (the cited ones are told above)."""
    before, after = _by_id(old.get("concerning_results")), _by_id(new.get("concerning_results"))
    changes = []
    told = sorted((set(before) | set(after)) - cited)
    marked = _with_marks({pk: after.get(pk) or before[pk] for pk in told
                          if pk not in before or pk not in after or before[pk] != after[pk]})  # fmt: skip
    for pk in told:
        row = marked.get(pk) or after.get(pk) or before[pk]
        where = categories.get(row.get("category_id"), "?")
        label = f"{_evaluation_label(row)} in {where}"
        if pk not in before:
            # New since the content was affirmed (signed, or recorded); the outcome in its threshold's own words.
            outcome = outcome_words(row["outcome"], row.get("crossed_term"), row.get("not_crossed_term"))
            details = [f"a new concerning result: {outcome}"]
        elif pk not in after:
            details = ["no longer a concerning result"]
        else:
            details = _field_changes(Evaluation, before[pk], after[pk], categories)
        if details:
            changes.append(Change(label, details, Evaluation, pk))
    return changes


def _piece(piece: dict) -> str:
    name = piece.get("title") or piece.get("original_name") or piece.get("url") or f"#{piece.get('id')}"
    sha = f" (SHA-256 {piece['sha256'][:12]}…)" if piece.get("sha256") else ""
    return f"'{name}'{sha}"


def _evaluations(document: dict) -> dict[int, dict]:
    found = {}
    for determination in document.get("determinations", []):
        for evaluation in determination.get("cited_evaluations", []):
            found[evaluation["id"]] = evaluation
    return found


def _list_changes(
    old_rows: list | None, new_rows: list | None, model: type[Model], label: Callable[..., str], categories: dict
) -> list[Change]:
    before, after = _by_id(old_rows), _by_id(new_rows)
    if not before and not after and old_rows != new_rows:  # format 1 gap rows carry no id
        return [Change(str(model._meta.verbose_name).capitalize(), ["changed"], model, None)]
    changes = []
    for pk in sorted(set(before) | set(after)):
        if pk not in before:
            changes.append(Change(label(after[pk]), ["added"], model, pk))
        elif pk not in after:
            changes.append(Change(label(before[pk]), ["removed"], model, pk))
        else:
            details = _field_changes(model, before[pk], after[pk], categories)
            if details:
                changes.append(Change(label(after[pk]), details, model, pk))
    return changes
