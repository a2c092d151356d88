"""What a sign-off signs: a canonical JSON of the decision and everything it rests on.

The document covers the decision's fields, its determinations, the evaluations they cite (with
the hashes of those evaluations' evidence) and its gap acknowledgements. Each sign-off stores
the document and its SHA-256; if any part changes later — a field of the decision, a verdict, a
cited evaluation's score, a piece of evidence — the digest changes and the sign-off is stale.
"""

import hashlib

from riskreg.audit.chain import jsonable
from riskreg.audit.verify import canonical_json

DECISION_FIELDS = [
    "id", "snapshot_id", "framework_version_id", "reference", "title", "scope", "scope_details",
    "conditions", "rationale", "basis", "effective_date", "supersedes_id", "author_id",
]  # fmt: skip
DETERMINATION_FIELDS = [
    "id", "category_id", "threshold_id", "verdict", "confidence", "residual_risk", "reasoning", "safeguards",
]  # fmt: skip
EVALUATION_FIELDS = [
    "id", "snapshot_id", "category_id", "threshold_id", "title", "kind", "run_by", "is_external",
    "started_on", "finished_on", "finding", "score", "score_unit", "score_note", "comparisons",
    "outcome", "confidence", "source_section",
]  # fmt: skip
EVIDENCE_FIELDS = ["id", "kind", "sha256", "url", "note", "replaces_id"]


def _fields(obj, names) -> dict:
    if isinstance(obj, dict):  # the rows gate.load reads with values()
        return {name: jsonable(obj[name]) for name in names}
    return {name: jsonable(getattr(obj, name)) for name in names}


def signed_content(decision, determinations, gaps) -> dict:
    """The document a sign-off covers, from already loaded records (see gate.load: `determination.cited`)."""
    return {
        "decision": _fields(decision, DECISION_FIELDS),
        "determinations": [
            {
                **_fields(determination, DETERMINATION_FIELDS),
                "cited_evaluations": [
                    {
                        **_fields(evaluation, EVALUATION_FIELDS),
                        "evidence": [_fields(piece, EVIDENCE_FIELDS) for piece in evaluation["evidence"]],
                    }
                    for evaluation in determination.cited
                ],
            }
            for determination in determinations
        ],
        "gap_acknowledgements": [{"category_id": gap.category_id, "rationale": gap.rationale} for gap in gaps],
    }


def digest_of(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def current_content(decision) -> dict:
    """The decision's signed document as the database holds it now."""
    from .gate import load

    return signed_content(*load(decision.pk))


def decision_digest(decision) -> str:
    return digest_of(current_content(decision))


def _label(item: dict) -> str:
    return f"#{item['id']}" if isinstance(item, dict) and "id" in item else ""


def diff_paths(old, new, path: str = "") -> list[str]:
    """Where two signed documents differ, as readable paths: 'determinations#3.verdict: a → b'."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new)):
            changes += diff_paths(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return changes
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(i, dict) and "id" in i for i in old + new):
        before, after = {i["id"]: i for i in old}, {i["id"]: i for i in new}
        changes = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}#{key}"
            if key not in before:
                changes.append(f"{where} added")
            elif key not in after:
                changes.append(f"{where} removed")
            else:
                changes += diff_paths(before[key], after[key], where)
        return changes
    if old != new:
        return [f"{path}: {_short(old)} → {_short(new)}"]
    return []


def _short(value) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "…"
