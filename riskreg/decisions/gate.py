"""The release gate: a pure function of the database state, `gate(decision) -> GateReport`.

Each check says pass, warn or block, why, and which records are behind it. The gate writes
nothing and runs a fixed number of queries however many evaluations a decision cites. The same
report drives the decision page, the sign and re-affirm steps, `manage.py gate` and the JSON
endpoint. Besides the checks it says where the decision stands: its status, whether it was
recorded from a published source, and whether what was approved has changed since (a material
change), in words, with who must re-affirm it.
"""

import datetime
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import cast

from django.conf import settings
from django.db.models import Max

from riskreg import provenance
from riskreg.audit.models import AuditEvent
from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.frameworks.models import (
    Coverage,
    CoverageLevel,
    DeploymentWhenCrossed,
    GovernanceTitle,
    ThreatCategory,
    is_coverage_gap,
)

from .digest import CONTENT_VERSION, PARTS, Change, describe_changes, digest_of, load, load_many, signed_content
from .models import (
    FROZEN_STATUSES,
    LIFECYCLE_FIELDS,
    Affirmation,
    AffirmationKind,
    DecisionStatus,
    Determination,
    GapAcknowledgement,
    ReleaseDecision,
    Scope,
    SignOff,
    SignOffVerdict,
    Verdict,
)

PASS, WARN, BLOCK, RECORDED = "pass", "warn", "block", "recorded"

# The checks that sign-offs settle: everything else must pass before a decision goes to review.
SIGN_OFF_CHECKS = {"sign_offs", "stale_sign_offs"}


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
class MaterialChange:
    """What an approved (or recorded) decision rested on has changed since it was affirmed."""

    since: str  # ISO time of the affirmation the changes are measured against
    affirmed: str  # how it was affirmed: AffirmationKind label
    changes: list[Change]
    awaiting: list[str]  # required titles that have not re-affirmed the new content

    def as_dict(self) -> dict:
        return {
            "since": self.since,
            "affirmed": self.affirmed,
            "changes": [change.text for change in self.changes],
            "awaiting_reaffirmation_by": self.awaiting,
        }


@dataclass
class GateReport:
    decision_id: int
    decision: str
    framework_version: str
    checks: list[Check]
    digest: str
    decision_status: str = DecisionStatus.DRAFT
    recorded: bool = False
    material_change: MaterialChange | None = None
    authors: list[str] = field(default_factory=list)
    digests: dict = field(default_factory=dict)  # the current digest in each document format in use
    provenance: dict = field(default_factory=dict)  # riskreg.provenance's JSON shape for the decision

    def is_current(self, sign_off: SignOff) -> bool:
        return _is_current(sign_off, self.digests)

    @property
    def status(self) -> str:
        if self.recorded:
            return RECORDED
        statuses = {check.status for check in self.checks}
        return BLOCK if BLOCK in statuses else WARN if WARN in statuses else PASS

    @property
    def passed(self) -> bool:
        return self.status in (PASS, WARN)

    @property
    def release_allowed(self) -> bool:
        """What a release pipeline asks: an approved decision, decided here, whose checks pass now.
        A draft, a decision in review, a superseded or rejected one, and one recorded from a published
        source never allow a release, whatever their checks say."""
        return self.passed and self.decision_status == DecisionStatus.APPROVED and not self.recorded

    @property
    def blocking(self) -> list[Check]:
        return [check for check in self.checks if check.status == BLOCK]

    @property
    def headline(self) -> str:
        """Where the decision stands, in one line a person reads."""
        status = self.decision_status
        if self.recorded:
            text = "Recorded from a published source; no sign-off data"
            if status == DecisionStatus.SUPERSEDED:
                text += " (superseded)"
            if self.material_change:
                text += " — what it rests on has changed since it was recorded"
            return text
        if status == DecisionStatus.APPROVED:
            if self.material_change:
                awaiting = ", ".join(self.material_change.awaiting) or "nobody"
                return f"Approved — changed since signing, awaiting re-affirmation by {awaiting}"
            return "Approved"
        if status in (DecisionStatus.SUPERSEDED, DecisionStatus.REJECTED):
            return DecisionStatus(status).label
        problems = [check for check in self.blocking if check.code not in SIGN_OFF_CHECKS]
        if problems:
            return f"Blocked — {len(problems)} problem{'s' if len(problems) > 1 else ''} to fix first"
        if status == DecisionStatus.DRAFT:
            return "Draft — ready to submit for review"
        missing = next((c for c in self.checks if c.code == "sign_offs" and c.status == BLOCK), None)
        return f"Ready for sign-off — {missing.reason[0].lower() + missing.reason[1:]}" if missing else "Passes"

    def as_dict(self) -> dict:
        return {
            "decision": {
                "id": self.decision_id, "label": self.decision, "framework_version": self.framework_version,
                "status": self.decision_status, "recorded_from_published_source": self.recorded,
                "provenance": self.provenance,
            },
            "status": self.status,
            "passed": self.release_allowed,
            "checks_pass": self.passed,
            "headline": self.headline,
            "digest": self.digest,
            "material_change": self.material_change.as_dict() if self.material_change else None,
            "authors": self.authors,
            "checks": [asdict(check) for check in self.checks],
        }  # fmt: skip


def _evaluation(evaluation: dict) -> Record:
    """An evaluation the report names, with where it comes from (riskreg.provenance's words)."""
    where = provenance.make("evaluations.Evaluation", evaluation)
    return Record("evaluation", evaluation["id"], f"{evaluation['title']} ({where.short})")


# -- who wrote the decision --------------------------------------------------------------------------

_DECISION_CONTENT = [
    f.attname for f in ReleaseDecision._meta.concrete_fields if f.attname not in (*LIFECYCLE_FIELDS, "id")
]


def authors_of(
    decision: ReleaseDecision, gaps: Iterable[GapAcknowledgement] | None = None, _seen: frozenset[int] = frozenset()
) -> set[int]:
    """Everyone who created or changed the decision or any of its parts, from their history.

    A lifecycle step (submit, sign, reject, record) moves only the status and makes nobody an
    author; a change to any other field, or to any part the signed document holds (digest.PARTS:
    determinations and their citations, gap acknowledgements, review conditions), does.
    """
    authors: set[int | None] = {decision.author_id}  # None: a history row made by no known user
    previous = None
    for row in (
        ReleaseDecision.history.filter(id=decision.pk)
        .order_by("history_id")
        .values("history_type", "history_user_id", *_DECISION_CONTENT)
    ):
        kind, user = row.pop("history_type"), row.pop("history_user_id")
        if kind != "~" or row != previous:
            authors.add(user)
        previous = row
    for model in PARTS.values():
        authors.update(model.history.filter(decision_id=decision.pk).values_list("history_user_id", flat=True))
    if gaps is None:
        gaps = GapAcknowledgement.objects.filter(decision=decision)
    authors.update(gap.acknowledged_by_id for gap in gaps)
    # A draft that revises a rejected decision or supersedes an approved one starts as a copy of it: whoever
    # wrote that content wrote this too (else its author could sign their own text once a colleague copied it).
    source = decision.revises_id or decision.supersedes_id
    if source and source not in _seen:
        authors |= authors_of(ReleaseDecision.objects.get(pk=source), _seen=_seen | {decision.pk})
    authors.discard(None)
    return cast(set[int], authors)


# -- what the decision affirmed -----------------------------------------------------------------------


@dataclass
class Affirmed:
    """The newest affirmation of a decision (or, before affirmations were kept, its approving sign-off)."""

    kind: str
    digest: str
    content_version: int
    content: dict
    at: datetime.datetime
    # Every (document format, digest) the decision was ever affirmed on: content that returns to one of
    # them (a change undone after a re-affirmation) is again what every required title signed.
    affirmed: set[tuple[int, str]] = field(default_factory=set)

    def versions(self) -> set[int]:
        return {version for version, _digest in self.affirmed} | {self.content_version}

    def holds(self, digests: dict[int, str]) -> bool:
        """Whether the content now (`digests`: format → digest) is content the decision was affirmed on."""
        return any(digests.get(version) == digest for version, digest in self.affirmed | {self.key})

    @property
    def key(self) -> tuple[int, str]:
        return (self.content_version, self.digest)


def affirmations_of(decisions: Iterable[ReleaseDecision]) -> dict[int, Affirmed]:
    """The newest affirmation of each approved or superseded decision, with every digest it was affirmed on,
    in three queries."""
    ids = [d.pk for d in decisions if d.status in (DecisionStatus.APPROVED, DecisionStatus.SUPERSEDED)]
    if not ids:
        return {}
    newest = Affirmation.objects.filter(decision_id__in=ids).values("decision_id").annotate(last=Max("id"))
    found = {
        row.decision_id: Affirmed(row.kind, row.digest, row.content_version, row.content, row.affirmed_at)
        for row in Affirmation.objects.filter(id__in=newest.values("last"))
    }
    for decision_id, version, digest in Affirmation.objects.filter(decision_id__in=list(found)).values_list(
        "decision_id", "content_version", "digest"
    ):  # fmt: skip
        found[decision_id].affirmed.add((version, digest))
    missing = [pk for pk in ids if pk not in found]
    if missing:  # approved before affirmations were kept: the last approving sign-off says what was approved
        newest_sign_offs = (
            SignOff.objects.filter(decision_id__in=missing, verdict=SignOffVerdict.APPROVE)
            .values("decision_id")
            .annotate(last=Max("id"))
        )
        for row in SignOff.objects.filter(id__in=newest_sign_offs.values("last")):
            found[row.decision_id] = Affirmed(
                AffirmationKind.APPROVED, row.digest, row.content_version, row.signed_content, row.signed_at
            )
    return found


@dataclass
class ReviewState:
    """A decision's status as lists, the overview and the timeline show it."""

    status: str
    label: str
    changed: bool = False
    recorded: bool = False  # reported by a published source, never approved here: not shown as approved

    @property
    def css(self) -> str:
        status = "recorded" if self.recorded and self.status == DecisionStatus.APPROVED else self.status
        return f"status-{status}" + (" changed" if self.changed else "")


def review_states(decisions: Iterable[ReleaseDecision]) -> dict[int, ReviewState]:
    """Status labels, with 'changed since signing' where it applies, for many decisions at once.

    A fixed number of queries whatever the number of decisions: load_many, plus two for affirmations.
    """
    decisions = list(decisions)
    affirmed = affirmations_of(decisions)
    loaded = load_many([pk for pk, a in affirmed.items()]) if affirmed else {}
    states = {}
    for decision in decisions:
        label = decision.get_status_display()
        if decision.provenance == "published_source" and decision.status in (
            DecisionStatus.APPROVED, DecisionStatus.SUPERSEDED
        ):  # fmt: skip
            approved = decision.status == DecisionStatus.APPROVED
            label = "Recorded (published source)" if approved else "Superseded (recorded)"
        changed = False
        found = affirmed.get(decision.pk)
        if found is not None and decision.status == DecisionStatus.APPROVED:
            digests = {v: digest_of(signed_content(loaded[decision.pk], v)) for v in found.versions()}
            changed = not found.holds(digests)
            if changed:
                label += " — changed since " + ("recording" if found.kind == AffirmationKind.RECORDED else "signing")
        recorded = decision.provenance == "published_source"
        states[decision.pk] = ReviewState(decision.status, label, changed, recorded)
    return states


def annotate_review_states(decisions: Iterable[ReleaseDecision | None]) -> list[ReleaseDecision]:
    """Set `review_state` on each decision (for templates); returns them as a list."""
    present = [d for d in decisions if d is not None]
    states = review_states(present)
    for decision in present:
        decision.review_state = states[decision.pk]
    return present


# -- the gate ---------------------------------------------------------------------------------------


def gate(decision: ReleaseDecision) -> GateReport:
    loaded = load(decision.pk)
    decision, determinations, gaps = loaded.decision, loaded.determinations, loaded.gaps
    version = decision.framework_version
    required = list(GovernanceTitle.objects.filter(pk__in=loaded.version["required_title_ids"]).order_by("name"))
    coverage = {
        row.category_id: row for row in Coverage.objects.filter(framework_version=version).select_related("category")
    }
    # The snapshot's concerning results, as load() read them for the digest: the gate judges what is signed.
    concerning: dict[int, list[dict]] = {}
    for evaluation in sorted(loaded.concerning, key=lambda row: (row["category_id"], row["id"])):
        concerning.setdefault(evaluation["category_id"], []).append(evaluation)
    sign_offs = list(
        SignOff.objects.filter(decision=decision).select_related("signer", "title", "signer_key")
        .order_by("signed_at", "id")
    )
    mark_made_before_keys(sign_offs)
    authors = authors_of(decision, gaps)

    versions = {CONTENT_VERSION} | {s.content_version for s in sign_offs}
    affirmed = affirmations_of([decision]).get(decision.pk)
    if affirmed is not None:
        versions |= affirmed.versions()
    contents = {v: signed_content(loaded, v) for v in versions}
    digests = {v: digest_of(content) for v, content in contents.items()}
    by_category = {determination.category_id: determination for determination in determinations}
    # What crossing each threshold requires, from the framework version as the digest covers it.
    thresholds = {row["id"]: row for row in loaded.version["thresholds"]}
    recorded = decision.is_recorded

    checks = [
        _check_determinations(coverage, by_category),
        _check_citations(decision, determinations),
        _check_safeguards(determinations, thresholds),
        _check_coverage_gaps(coverage, concerning, gaps),
        _check_recorded(decision) if recorded else _check_sign_offs(decision, required, sign_offs, digests, authors),
        _check_stale(sign_offs, digests, contents),
        _check_response(decision, determinations, thresholds),
        _check_supersession(decision),
        _check_signatures(sign_offs, digests),
    ]
    material = None
    if affirmed is not None and decision.status == DecisionStatus.APPROVED:
        if not affirmed.holds(digests):
            changes = describe_changes(affirmed.content, contents[affirmed.content_version])
            _add_history_notes(changes, affirmed.at)
            valid = _valid_sign_offs(decision, sign_offs, digests, authors)
            awaiting = [] if recorded else [str(t) for t in required if t.pk not in valid]
            material = MaterialChange(affirmed.at.isoformat(), AffirmationKind(affirmed.kind).label, changes, awaiting)
    names = dict(
        type(decision.author).objects.filter(pk__in=authors).values_list("pk", "username")
    )  # the decision page lists them
    return GateReport(
        decision.pk, str(decision), str(version), checks, digests[CONTENT_VERSION],
        decision_status=decision.status, recorded=recorded, material_change=material,
        authors=sorted(names.values()), digests=digests, provenance=provenance.of(decision).as_json(),
    )  # fmt: skip


def _add_history_notes(changes: list[Change], since: datetime.datetime) -> None:
    """Who changed each evaluation (or attached evidence to it) since `since`, when, and why."""
    evaluation_ids = [c.pk for c in changes if c.model is Evaluation]
    if not evaluation_ids:
        return
    notes: dict[int | None, list[str]] = {}
    rows = list(
        Evaluation.history.filter(id__in=evaluation_ids, history_date__gt=since)
        .order_by("history_id")
        .values("id", "history_user__username", "history_user__first_name", "history_user__last_name",
                "history_date", "history_change_reason")
    ) + list(
        Evidence.history.filter(evaluation_id__in=evaluation_ids, history_date__gt=since, history_type="+")
        .order_by("history_id")
        .values("evaluation_id", "history_user__username", "history_user__first_name", "history_user__last_name",
                "history_date", "history_change_reason")
    )
    for row in sorted(rows, key=lambda r: r["history_date"]):
        pk = row.get("id") or row.get("evaluation_id")
        reason = row["history_change_reason"] or "no reason given"
        when = f"{row['history_date']:%-d %b %Y}"
        name = f"{row['history_user__first_name']} {row['history_user__last_name']}".strip()
        who = name or row["history_user__username"] or "unknown"  # a person by name, as the trail says it
        notes.setdefault(pk, []).append(f"by {who} on {when}, reason: {reason}")
    for change in changes:
        if change.model is Evaluation:
            change.notes = list(dict.fromkeys(notes.get(change.pk, [])))


def _check_determinations(coverage: dict[int, Coverage], by_category: dict[int, Determination]) -> Check:
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


def _check_citations(decision: ReleaseDecision, determinations: list[Determination]) -> Check:
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


def _verdict(determination: Determination, thresholds: dict[int | None, dict]) -> str:
    """The verdict in the framework's words (RSP v3.0 says 'applicable'), lower case for a sentence."""
    row = thresholds.get(determination.threshold_id) or {}
    term = {"crossed": row.get("crossed_term"), "not_crossed": row.get("not_crossed_term")}.get(determination.verdict)
    return (term or determination.get_verdict_display()).lower()


def _check_safeguards(determinations: list[Determination], thresholds: dict[int | None, dict]) -> Check:
    title = "Safeguards named where what was crossed requires them"
    bad = [
        d for d in determinations
        if d.verdict in Verdict.needing_safeguards() and not d.safeguards.strip()
        # A threshold whose response asks for no safeguards is held to its response instead; a verdict
        # with no threshold has no response to go by, so it names its safeguards.
        and (thresholds.get(d.threshold_id) or {}).get("response_safeguards", True)
    ]  # fmt: skip
    if bad:
        names = ", ".join(f"{d.category.name} ({_verdict(d, thresholds)})" for d in bad)
        return Check("safeguards", title, BLOCK, f"Name the safeguards or conditions relied on for: {names}.",
                     [Record("determination", d.pk, d.category.name) for d in bad])  # fmt: skip
    return Check("safeguards", title, PASS, "Every verdict whose threshold requires safeguards names them.")


def _check_coverage_gaps(
    coverage: dict[int, Coverage], concerning: dict[int, list[dict]], gaps: Iterable[GapAcknowledgement]
) -> Check:
    title = "Coverage gaps: concerning results outside the framework's formal coverage"
    acknowledged = {gap.category_id: gap for gap in gaps if gap.rationale.strip()}
    open_gaps: list[tuple[ThreatCategory, str, list[dict]]] = []
    known: list[tuple[ThreatCategory, str, list[dict]]] = []
    for category_id, evaluations in concerning.items():
        row = coverage.get(category_id)
        if not is_coverage_gap(row.level if row is not None else None, concerning=True):
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


def _is_current(sign_off: SignOff, digests: dict[int, str]) -> bool:
    return sign_off.digest == digests.get(sign_off.content_version)


def _valid_sign_offs(
    decision: ReleaseDecision, sign_offs: list[SignOff], digests: dict[int, str], authors: set[int]
) -> dict[int, SignOff]:
    """{title_id: sign-off} of current approvals, one title per person, none by an author."""
    valid: dict[int, SignOff] = {}
    used_people: set[int] = set()
    for sign_off in sign_offs:
        if not _is_current(sign_off, digests) or sign_off.verdict != SignOffVerdict.APPROVE:
            continue
        if not counts_without_doubt(sign_off):
            continue
        if sign_off.signer_id in authors or sign_off.signer_id in used_people:
            continue
        if sign_off.title_id not in valid:
            valid[sign_off.title_id] = sign_off
            used_people.add(sign_off.signer_id)
    return valid


def counts_without_doubt(sign_off: SignOff) -> bool:
    """A sign-off counts when its signer's own key signed it; one without a valid signature (written by code
    holding only the app's role, or made before signer keys) counts only where settings allow: with the rule
    off, or written before it came (mark_made_before_keys)."""
    if sign_off.is_signed_by_signer or not settings.SIGN_OFFS_NEED_SIGNATURE:
        return True
    return getattr(sign_off, "made_before_keys", False)


def mark_made_before_keys(sign_offs: list[SignOff]) -> None:
    """Set `made_before_keys` on each unsigned sign-off whose creation event is numbered at most
    SIGNATURES_REQUIRED_AFTER_EVENT (one query, and none without unsigned sign-offs or the setting)."""
    after = settings.SIGNATURES_REQUIRED_AFTER_EVENT
    unsigned = {str(s.pk): s for s in sign_offs if not s.is_signed_by_signer}
    before: set[str] = set()
    if after and unsigned:
        before = set(AuditEvent.objects.filter(model=SignOff._meta.label, action="+", object_id__in=list(unsigned),
                                               seq__lte=after).values_list("object_id", flat=True))  # fmt: skip
    for pk, sign_off in unsigned.items():
        sign_off.made_before_keys = pk in before


def _check_signatures(sign_offs: list[SignOff], digests: dict[int, str]) -> Check:
    title = "Each sign-off signed with its signer's own key"
    current = [s for s in sign_offs if _is_current(s, digests)]
    unsigned = [s for s in current if not s.is_signed_by_signer]
    if not unsigned:
        return Check("signatures", title, PASS, "Every current sign-off carries its signer's signature."
                     if current else "No sign-off yet.")  # fmt: skip
    counted = [s for s in unsigned if counts_without_doubt(s)]
    names = ", ".join(f"{s.title} ({s.signer})" for s in unsigned)
    reason = (f"No valid signature by the signer's own key on: {names}. "
              + ("Written before signer keys were required (SIGNATURES_REQUIRED_AFTER_EVENT), they still count."
                 if len(counted) == len(unsigned) and settings.SIGN_OFFS_NEED_SIGNATURE else
                 "Counted only because SIGN_OFFS_NEED_SIGNATURE is off." if not settings.SIGN_OFFS_NEED_SIGNATURE
                 else "They do not count toward approval: the signer signs again on the page."))  # fmt: skip
    records = [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in unsigned]
    return Check("signatures", title, WARN, reason, records)


def _check_sign_offs(
    decision: ReleaseDecision, required: list[GovernanceTitle], sign_offs: list[SignOff], digests: dict[int, str],
    authors: set[int],
) -> Check:
    title = "Every required title signed, by distinct people, none of them an author"
    if not required:
        return Check("sign_offs", title, BLOCK,
                     "The framework version names no title whose sign-off is required, so nobody can approve "
                     "a release under it.")  # fmt: skip
    valid = _valid_sign_offs(decision, sign_offs, digests, authors)
    rejected = [s for s in sign_offs if s.verdict == SignOffVerdict.REJECT and _is_current(s, digests)]
    missing = [t for t in required if t.pk not in valid]
    records = [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in valid.values()]
    if rejected:
        return Check("sign_offs", title, BLOCK, f"Rejected by {', '.join(str(s.title) for s in rejected)}.",
                     records + [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in rejected])  # fmt: skip
    if missing:
        names = ", ".join(str(t) for t in missing)
        doing = "re-affirmation" if decision.status == DecisionStatus.APPROVED else "sign-off"
        return Check("sign_offs", title, BLOCK, f"Awaiting a current {doing} by: {names}.",
                     records + [Record("title", t.pk, str(t)) for t in missing])  # fmt: skip
    return Check("sign_offs", title, PASS, f"Signed by {', '.join(str(s.title) for s in valid.values())}.", records)


def _check_supersession(decision: ReleaseDecision) -> Check:
    """At most one decision of a line of supersession is in force, and only it passes.

    A draft that supersedes a decision no longer in force (another superseding draft was approved first)
    cannot be approved. An approved decision that a later decision of its line superseded in effect —
    through a revision of a superseding draft, which before issue 27 lost its `supersedes` link — blocks,
    so the pipeline never sees two approved decisions of one line pass."""
    title = "The only decision in force in its line of supersession"
    records = []
    if decision.supersedes_id and decision.status not in FROZEN_STATUSES:
        earlier = ReleaseDecision.objects.only("id", "reference", "title", "status").get(pk=decision.supersedes_id)
        records.append(Record("decision", earlier.pk, str(earlier)))
        overtaken = _took_effect_after(earlier) if earlier.status == DecisionStatus.APPROVED else []
        if overtaken:
            names = ", ".join(str(d) for d in overtaken)
            return Check("supersession", title, BLOCK, f"It supersedes {earlier}, which {names} already superseded "
                         "in effect: supersede the decision in force instead.", records)  # fmt: skip
        if earlier.status != DecisionStatus.APPROVED:
            return Check("supersession", title, BLOCK, f"It supersedes {earlier}, which is no longer in force "
                         f"({earlier.get_status_display().lower()}): supersede the decision in force instead.",
                         records)  # fmt: skip
        return Check("supersession", title, PASS, f"It supersedes {earlier}, in force until this one is approved.",
                     records)  # fmt: skip
    if decision.status == DecisionStatus.APPROVED:
        later = _took_effect_after(decision)
        if later:
            names = ", ".join(str(d) for d in later)
            return Check("supersession", title, BLOCK, f"Superseded in effect by {names}, approved later in the same "
                         "line: only the newest approved decision of a line is in force.",
                         [Record("decision", d.pk, str(d)) for d in later])  # fmt: skip
    return Check("supersession", title, PASS, "No later decision of its line has taken effect.")


def _took_effect_after(decision: ReleaseDecision) -> list[ReleaseDecision]:
    """The approved (or since superseded) decisions that supersede `decision`, directly or as a revision of a
    draft that did. One query per generation of revisions; a line has few."""
    found: list[ReleaseDecision] = []
    seen: set[int] = {decision.pk}
    frontier = list(ReleaseDecision.objects.filter(supersedes=decision).only("id", "reference", "title", "status"))
    while frontier:
        fresh = [d for d in frontier if d.pk not in seen]
        seen.update(d.pk for d in fresh)
        found.extend(d for d in fresh if d.status in FROZEN_STATUSES)
        frontier = list(ReleaseDecision.objects.filter(revises__in=[d.pk for d in fresh]).exclude(pk__in=seen)
                        .only("id", "reference", "title", "status")) if fresh else []  # fmt: skip
    return sorted(found, key=lambda d: d.pk)


def _check_recorded(decision: ReleaseDecision) -> Check:
    return Check(
        "sign_offs", "Every required title signed, by distinct people, none of them an author", WARN,
        "Recorded from a published source; no sign-off data. The source reports this decision; it did not pass "
        "through riskreg's gate, and nobody signed it here.",
    )  # fmt: skip


def _check_stale(sign_offs: list[SignOff], digests: dict[int, str], contents: dict[int, dict]) -> Check:
    title = "Sign-offs still match what was signed"
    stale = [s for s in sign_offs if not _is_current(s, digests)]
    # A stale sign-off whose title has since signed or re-affirmed the current content is replaced,
    # not outstanding: it stays in the record, and the page shows it struck through.
    current_titles = {s.title_id for s in sign_offs if _is_current(s, digests)}
    replaced = [s for s in stale if s.title_id in current_titles]
    stale = [s for s in stale if s.title_id not in current_titles]
    if not stale:
        if replaced:
            return Check("stale_sign_offs", title, PASS,
                         "Every title has signed the current content; the earlier sign-offs it replaced "
                         f"({len(replaced)}) stay in the record.")  # fmt: skip
        return Check("stale_sign_offs", title, PASS, "No sign-off is stale.")
    parts = []
    for sign_off in stale:
        changes = []
        if sign_off.signed_content and sign_off.content_version in contents:
            changes = describe_changes(sign_off.signed_content, contents[sign_off.content_version])
        texts = [change.text for change in changes]
        what = "; ".join(texts[:5]) + (" …" if len(texts) > 5 else "") if texts else "content changed"
        parts.append(f"{sign_off.title} ({sign_off.signer}, {sign_off.signed_at:%-d %b %Y}): {what}")
    return Check("stale_sign_offs", title, WARN,
                 "Stale, so not counted — what changed since signing: " + " | ".join(parts) + ".",
                 [Record("sign_off", s.pk, f"{s.title}: {s.signer}") for s in stale])  # fmt: skip


# The scopes each response allows. "Cannot rule out" is held to the same response as a crossing: the
# frameworks apply a threshold's safeguards when it cannot be ruled out (RSP v3.0's CB-1 in the Mythos card).
ALLOWED_SCOPES: dict[str, set[str]] = {
    DeploymentWhenCrossed.ANY: set(Scope.values),
    DeploymentWhenCrossed.INTERNAL_ONLY: {Scope.NO_DEPLOYMENT, Scope.INTERNAL_REVIEW, Scope.INTERNAL_USE},
    DeploymentWhenCrossed.NONE: {Scope.NO_DEPLOYMENT},
}


def _check_response(
    decision: ReleaseDecision, determinations: list[Determination], thresholds: dict[int | None, dict]
) -> Check:
    title = "Scope and report as each crossed threshold's response requires"
    problems, unknown = [], []
    for d in determinations:
        if d.verdict not in Verdict.needing_safeguards():
            continue
        row = thresholds.get(d.threshold_id)
        if row is None:
            unknown.append(d)
            continue
        label = f"{d.category.name} ({row['code']}, {_verdict(d, thresholds)})"
        if decision.scope not in ALLOWED_SCOPES[row["response_deployment"]]:
            allowed = DeploymentWhenCrossed(row["response_deployment"]).label.lower()
            problems.append((d, f"{label} allows {allowed}, not {decision.get_scope_display().lower()}"))
        if row["response_report"] and not d.residual_risk.strip():
            problems.append((d, f"{label} requires a risk report or case: state the residual risk it concludes"))
    records = [Record("determination", d.pk, d.category.name) for d, _ in problems]
    if problems:
        return Check("scope", title, BLOCK, "; ".join(text for _, text in problems) + ".", records)
    if unknown:
        names = ", ".join(f"{d.category.name} ({_verdict(d, thresholds)})" for d in unknown)
        return Check("scope", title, WARN,
                     f"No threshold of this framework version is named for: {names}, so what it requires is unknown.",
                     [Record("determination", d.pk, d.category.name) for d in unknown])  # fmt: skip
    return Check("scope", title, PASS, f"{decision.get_scope_display()} is what every crossed threshold allows.")
