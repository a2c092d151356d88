"""What a sign-off signs: a canonical JSON of the decision and everything it rests on.

The SHA-256 of this document is stored on each sign-off. If any part changes later — a field of
the decision, a determination, a cited evaluation, the hash of a piece of its evidence — the
digest changes and the sign-off is stale.
"""

import hashlib
import json

from django.db.models import Prefetch

from riskreg.evaluations.models import Evaluation, Evidence

DECISION_FIELDS = [
    "id",
    "snapshot_id",
    "framework_version_id",
    "reference",
    "title",
    "scope",
    "scope_details",
    "conditions",
    "rationale",
    "basis",
    "effective_date",
    "supersedes_id",
    "author_id",
]
DETERMINATION_FIELDS = [
    "id",
    "category_id",
    "threshold_id",
    "verdict",
    "confidence",
    "residual_risk",
    "reasoning",
    "safeguards",
]
EVALUATION_FIELDS = [
    "id",
    "snapshot_id",
    "category_id",
    "threshold_id",
    "title",
    "kind",
    "run_by",
    "is_external",
    "started_on",
    "finished_on",
    "finding",
    "score",
    "score_unit",
    "score_note",
    "comparisons",
    "outcome",
    "confidence",
    "source_section",
]

EVIDENCE_FIELDS = ["id", "kind", "sha256", "url", "note", "replaces_id"]


def _fields(obj, names):
    return {name: getattr(obj, name) for name in names}


def signed_content(decision) -> dict:
    """The document a sign-off of `decision` covers, in a form that serialises canonically."""
    from .models import Determination, GapAcknowledgement

    evidence = Prefetch("evidence", queryset=Evidence.objects.order_by("id"))
    cited = Prefetch("cited_evaluations", queryset=Evaluation.objects.order_by("id").prefetch_related(evidence))
    # Read fresh from the database, never from a page's prefetched (possibly reordered) caches.
    determinations = (
        Determination.objects.filter(decision_id=decision.pk).order_by("category_id").prefetch_related(cited)
    )
    gaps = GapAcknowledgement.objects.filter(decision_id=decision.pk).order_by("category_id")
    return {
        "decision": _fields(decision, DECISION_FIELDS),
        "determinations": [
            {
                **_fields(determination, DETERMINATION_FIELDS),
                "cited_evaluations": [
                    {
                        **_fields(evaluation, EVALUATION_FIELDS),
                        "evidence": [
                            {
                                "id": piece.id,
                                "kind": piece.kind,
                                "sha256": piece.sha256,
                                "url": piece.url,
                                "note": piece.note,
                            }
                            for piece in evaluation.evidence.all()
                        ],
                    }
                    for evaluation in determination.cited_evaluations.all()
                ],
            }
            for determination in determinations
        ],
        "gap_acknowledgements": [{"category_id": gap.category_id, "rationale": gap.rationale} for gap in gaps],
    }


def canonical_json(document) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def decision_digest(decision) -> str:
    return hashlib.sha256(canonical_json(signed_content(decision))).hexdigest()
