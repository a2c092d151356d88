"""The release gate: a pure function of the database state, `gate(decision) -> GateReport`.

Each check says pass, warn or block, why, and which records are behind it. The gate writes
nothing and runs a fixed number of queries however many evaluations a decision cites. The same
report drives the decision page, the approve transition, `manage.py gate` and the JSON endpoint.
"""

from dataclasses import asdict, dataclass, field

from riskreg.evaluations.models import Evaluation, Evidence, Outcome
from riskreg.frameworks.models import Coverage, CoverageLevel, ThreatCategory

from .digest import EVALUATION_FIELDS, EVIDENCE_FIELDS, diff_paths, digest_of, signed_content
from .models import (
    Determination,
    GapAcknowledgement,
    ReleaseDecision,
    Scope,
    SignOff,
    SignOffVerdict,
    Verdict,
)

PASS, WARN, BLOCK = "pass", "warn", "block"


@dataclass
class Record:
    type: str
    id: int
    label: str


@dataclass
class Check:
    code: str
    title: str
    status: str
    reason: str
    records: list[Record] = field(default_factory=list)


@dataclass
class GateReport:
    decision_id: int
    decision: str
    framework_version: str
    checks: list[Check]
    digest: str

    @property
    def status(self) -> str:
        statuses = {check.status for check in self.checks}
        return BLOCK if BLOCK in statuses else WARN if WARN in statuses else PASS

    @property
    def passed(self) -> bool:
        return self.status != BLOCK

    @property
    def blocking(self) -> list[Check]:
        return [check for check in self.checks if check.status == BLOCK]

    def as_dict(self) -> dict:
        return {
            "decision": {"id": self.decision_id, "label": self.decision, "framework_version": self.framework_version},
            "status": self.status,
            "passed": self.passed,
            "digest": self.digest,
            "checks": [asdict(check) for check in self.checks],
        }


def _evaluation(evaluation: dict) -> Record:
    return Record("evaluation", evaluation["id"], f"{evaluation['title']} (§{evaluation['source_section']})")


def load(decision_id: int) -> tuple:
    """The decision and what its digest covers, in five queries; gate() adds four more (nine in all).

    Cited evaluations and their evidence are read as plain dicts (`determination.cited`), not model
    instances: a decision may cite thousands, and building instances was most of the gate's time.
    """
    decision = ReleaseDecision.objects.select_related("framework_version__framework", "snapshot__model").get(
        pk=decision_id
    )
    determinations = list(
        Determination.objects.filter(decision=decision).select_related("category").order_by("category_id")
    )
    gaps = list(GapAcknowledgement.objects.filter(decision=decision).select_related("category").order_by("category_id"))
    citations = Determination.cited_evaluations.through.objects.filter(determination__decision_id=decision.pk)
    evidence: dict[int, list] = {}
    for piece in (
        Evidence.objects.filter(evaluation_id__in=citations.values("evaluation_id"))
        .order_by("id")
        .values("evaluation_id", *EVIDENCE_FIELDS)
    ):
        evidence.setdefault(piece.pop("evaluation_id"), []).append(piece)
    cited: dict[int, list] = {determination.pk: [] for determination in determinations}
    columns = [f"evaluation__{name}" for name in EVALUATION_FIELDS]
    # Sorted here, not by the database: ORDER BY evaluation_id tempted PostgreSQL into walking the whole
    # evaluation table in id order to merge-join a few citations.
    rows = sorted(citations.order_by().values_list("determination_id", *columns), key=lambda row: row[1])
    for row in rows:
        evaluation = dict(zip(EVALUATION_FIELDS, row[1:], strict=True))
        evaluation["evidence"] = evidence.get(evaluation["id"], [])
        cited[row[0]].append(evaluation)
    for determination in determinations:
        determination.cited = cited[determination.pk]
    return decision, determinations, gaps


def gate(decision: ReleaseDecision) -> GateReport:
    decision, determinations, gaps = load(decision.pk)
    version = decision.framework_version
    required = list(version.required_titles.all())
    coverage = {
        row.category_id: row for row in Coverage.objects.filter(framework_version=version).select_related("category")
    }
    concerning: dict[int, list[dict]] = {}
    for evaluation in (
        Evaluation.objects.filter(snapshot_id=decision.snapshot_id, outcome__in=Outcome.concerning())
        .order_by("category_id", "id")
        .values("id", "title", "source_section", "category_id", "category__name")
    ):
        concerning.setdefault(evaluation["category_id"], []).append(evaluation)
    sign_offs = list(
        SignOff.objects.filter(decision=decision).select_related("signer", "title").order_by("signed_at", "id")
    )

    content = signed_content(decision, determinations, gaps)
    digest = digest_of(content)
    by_category = {determination.category_id: determination for determination in determinations}

    checks = [
        _check_determinations(coverage, by_category),
        _check_citations(decision, determinations),
        _check_safeguards(determinations),
        _check_coverage_gaps(coverage, concerning, gaps),
        _check_sign_offs(decision, required, sign_offs, digest),
        _check_stale(sign_offs, digest, content),
        _check_scope(decision, determinations),
    ]
    return GateReport(decision.pk, str(decision), str(version), checks, digest)


def _check_determinations(coverage, by_category) -> Check:
    formal = [row for row in coverage.values() if row.level == CoverageLevel.FORMAL]
    missing = [row.category for row in formal if row.category_id not in by_category]
    title = "A determination for every formally covered category"
    if not formal:
        return Check("determinations", title, WARN, "The framework version covers no category formally.")
    if missing:
        names = ", ".join(category.name for category in missing)
        return Check("determinations", title, BLOCK, f"No determination yet for: {names}.",
                     [Record("category", c.pk, c.name) for c in missing])  # fmt: skip
    return Check("determinations", title, PASS, f"All {len(formal)} formally covered categories are determined.")


def _check_citations(decision, determinations) -> Check:
    title = "Each determination cites evaluations of this snapshot and category"
    bad = []
    for determination in determinations:
        fitting = [
            e for e in determination.cited
            if e["snapshot_id"] == decision.snapshot_id and e["category_id"] == determination.category_id
        ]  # fmt: skip
        if not fitting:
            bad.append(determination)
    if bad:
        names = ", ".join(d.category.name for d in bad)
        return Check("citations", title, BLOCK,
                     f"These determinations cite no evaluation of {decision.snapshot.name} in their category: {names}.",
                     [Record("determination", d.pk, d.category.name) for d in bad])  # fmt: skip
    if not determinations:
        return Check("citations", title, PASS, "No determinations to check.")
    return Check("citations", title, PASS, "Every determination cites at least one fitting evaluation.")


def _check_safeguards(determinations) -> Check:
    title = "Crossed or cannot-rule-out verdicts name their safeguards"
    bad = [d for d in determinations if d.verdict in Verdict.needing_safeguards() and not d.safeguards.strip()]
    if bad:
        names = ", ".join(f"{d.category.name} ({d.get_verdict_display().lower()})" for d in bad)
        return Check("safeguards", title, BLOCK, f"Name the safeguards or conditions relied on for: {names}.",
                     [Record("determination", d.pk, d.category.name) for d in bad])  # fmt: skip
    return Check("safeguards", title, PASS, "Every such verdict names what it relies on.")


def _check_coverage_gaps(coverage, concerning, gaps) -> Check:
    title = "Coverage gaps: concerning results outside the framework's formal coverage"
    acknowledged = {gap.category_id: gap for gap in gaps if gap.rationale.strip()}
    open_gaps, known = [], []
    for category_id, evaluations in concerning.items():
        row = coverage.get(category_id)
        if row is not None and row.level == CoverageLevel.FORMAL:
            continue
        category = ThreatCategory(pk=category_id, name=evaluations[0]["category__name"])
        level = row.get_level_display().lower() if row else "not stated"
        (known if category_id in acknowledged else open_gaps).append((category, level, evaluations))
    records = [
        record
        for category, _level, evaluations in open_gaps + known
        for record in [Record("category", category.pk, category.name)] + [_evaluation(e) for e in evaluations]
    ]
    if open_gaps:
        text = "; ".join(
            f"{category.name}: {len(evaluations)} evaluation(s) reached signal met, crossed or saturated, but the "
            f'framework coverage is "{level}" and no gap acknowledgement with a rationale exists'
            for category, level, evaluations in open_gaps
        )
        return Check("coverage_gap", title, BLOCK, f"Unacknowledged coverage gap — {text}.", records)
    if known:
        text = "; ".join(
            f"{category.name} (framework coverage: {level}): {acknowledged[category.pk].rationale}"
            for category, level, _ in known
        )
        return Check("coverage_gap", title, WARN, f"Coverage gap acknowledged — {text}", records)
    return Check("coverage_gap", title, PASS, "No concerning result falls outside the formal coverage.")


def _check_sign_offs(decision, required, sign_offs, digest) -> Check:
    title = "Every required title signed, by distinct people, none of them the author"
    if not required:
        return Check("sign_offs", title, WARN, "The framework version names no title whose sign-off is required.")
    valid, used_people = {}, set()
    for sign_off in sign_offs:
        if sign_off.digest != digest or sign_off.verdict != SignOffVerdict.APPROVE:
            continue
        if sign_off.signer_id == decision.author_id or sign_off.signer_id in used_people:
            continue
        if sign_off.title_id not in valid:
            valid[sign_off.title_id] = sign_off
            used_people.add(sign_off.signer_id)
    rejected = [s for s in sign_offs if s.verdict == SignOffVerdict.REJECT and s.digest == digest]
    missing = [t for t in required if t.pk not in valid]
    records = [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in valid.values()]
    if rejected:
        return Check("sign_offs", title, BLOCK, f"Rejected by {', '.join(str(s.title) for s in rejected)}.",
                     records + [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in rejected])  # fmt: skip
    if missing:
        names = ", ".join(str(t) for t in missing)
        return Check("sign_offs", title, BLOCK, f"Awaiting a current sign-off by: {names}.",
                     records + [Record("title", t.pk, str(t)) for t in missing])  # fmt: skip
    return Check("sign_offs", title, PASS, f"Signed by {', '.join(str(s.title) for s in valid.values())}.", records)


def _check_stale(sign_offs, digest, content) -> Check:
    title = "Sign-offs still match what was signed"
    stale = [s for s in sign_offs if s.digest != digest]
    if not stale:
        return Check("stale_sign_offs", title, PASS, "No sign-off is stale.")
    parts = []
    for sign_off in stale:
        changes = diff_paths(sign_off.signed_content, content) if sign_off.signed_content else []
        what = ", ".join(changes[:5]) + (" …" if len(changes) > 5 else "") if changes else "content changed"
        parts.append(f"{sign_off.title} ({sign_off.signer}): {what}")
    return Check("stale_sign_offs", title, WARN,
                 "Stale, so not counted — what changed since signing: " + "; ".join(parts) + ".",
                 [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in stale])  # fmt: skip


def _check_scope(decision, determinations) -> Check:
    title = "Scope consistent with the verdicts"
    crossed = [d for d in determinations if d.verdict == Verdict.CROSSED]
    if decision.scope == Scope.GENERAL_AVAILABILITY and crossed:
        names = ", ".join(d.category.name for d in crossed)
        return Check("scope", title, BLOCK, f"General availability with a crossed threshold in: {names}.",
                     [Record("determination", d.pk, d.category.name) for d in crossed])  # fmt: skip
    return Check("scope", title, PASS, f"{decision.get_scope_display()} fits the verdicts.")
