"""The steps that move a release decision, and the only code that may move its status.

    draft → in review (submit) → approved | rejected (sign)      in review → draft (withdraw)
    draft → approved, recorded from a published source (record_from_source)
    approved → superseded (when the decision that supersedes it is approved or recorded)
    approved, changed since signing → re-affirmed (reaffirm, by every required title)
    rejected → a new draft that revises it (revise); approved → a new draft that supersedes it (supersede)

Each step locks the decision's row, checks who may take it, and saves with `_lifecycle_step` set,
which the model's save() asks for before it lets the status move. On PostgreSQL the step also sets
the transaction-local `riskreg.lifecycle_step`, which the database trigger asks for (migration
decisions 0005): an approval that no sign step made is refused there too.

Separation of duties holds for everyone, superusers included: nobody signs or re-affirms a
decision they wrote (gate.authors_of: the creator and anyone who changed it or its parts), and
each required title is signed by a different person.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction

from riskreg.accounts.signer_keys import Unlocked
from riskreg.frameworks.models import GovernanceTitle
from riskreg.notifications import events

from .digest import CONTENT_VERSION, digest_of, load, signed_content
from .gate import SIGN_OFF_CHECKS, GateReport, authors_of, gate
from .models import (
    Affirmation,
    AffirmationKind,
    DecisionError,
    DecisionStatus,
    Determination,
    GapAcknowledgement,
    Provenance,
    ReleaseDecision,
    ReviewCondition,
    SignOff,
    SignOffKind,
    SignOffVerdict,
)


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Tell the PostgreSQL trigger which step is moving the status, for this transaction only."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('riskreg.lifecycle_step', %s, true)", [name])
    try:
        yield
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('riskreg.lifecycle_step', '', true)")


def _locked(decision: ReleaseDecision) -> ReleaseDecision:
    """The decision's row, locked until the transaction ends: two requests cannot both move it."""
    return ReleaseDecision.objects.select_for_update().get(pk=decision.pk)


def _move(decision: ReleaseDecision, step: str, by: User, reason: str, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(decision, name, value)
    decision._lifecycle_step = step
    decision._history_user = by
    decision._change_reason = reason[:100]  # history's reason column holds 100 ("rejected by" a long title)
    try:
        with _step(step):
            decision.save()
    finally:
        del decision._lifecycle_step


def _refuse_if_gate_blocks(decision: ReleaseDecision, doing: str) -> GateReport:
    report = gate(decision)
    blocking = [check for check in report.blocking if check.code not in SIGN_OFF_CHECKS]
    if blocking:
        reasons = " ".join(check.reason for check in blocking)
        raise DecisionError(f"The release gate blocks this decision, so you cannot {doing}: {reasons}")
    return report


def _current_document(decision: ReleaseDecision) -> tuple[dict, str]:
    content = signed_content(load(decision.pk), CONTENT_VERSION)
    return content, digest_of(content)


def _affirm(decision: ReleaseDecision, kind: str, by: User, reason: str) -> Affirmation:
    content, digest = _current_document(decision)
    affirmation = Affirmation(
        decision=decision, kind=kind, digest=digest, content_version=CONTENT_VERSION, content=content, affirmed_by=by
    )
    affirmation._history_user = by
    affirmation._change_reason = reason
    affirmation.save()
    return affirmation


def check_submit(decision: ReleaseDecision) -> None:
    """The submit step's checks, asked before the author is shown the confirmation (submit asks again)."""
    if decision.status != DecisionStatus.DRAFT:
        raise DecisionError(f"Only a draft can be submitted; this decision is {decision.get_status_display().lower()}.")
    _refuse_if_gate_blocks(decision, "submit it")


def submit(decision: ReleaseDecision, by: User) -> None:
    with transaction.atomic():
        current = _locked(decision)
        check_submit(current)
        _move(current, "submit", by, "submitted for review", status=DecisionStatus.IN_REVIEW)
        events.decision_submitted(current, by, current.history.latest().history_id)
        decision.status = current.status


def withdraw(decision: ReleaseDecision, by: User) -> None:
    """Back from review to draft, to change it; sign-offs on content that then changes go stale."""
    with transaction.atomic():
        current = _locked(decision)
        if current.status != DecisionStatus.IN_REVIEW:
            raise DecisionError("Only a decision in review can be withdrawn to a draft.")
        _move(current, "withdraw", by, "withdrawn from review", status=DecisionStatus.DRAFT)
        decision.status = current.status


def _check_signer(current: ReleaseDecision, by: User, title: GovernanceTitle) -> None:
    if by.pk in authors_of(current):
        raise DecisionError(
            "You wrote this decision or one of its parts, so you cannot sign it off: "
            "separation of duties counts everyone who created or changed it as an author."
        )
    required = set(current.framework_version.required_titles.values_list("pk", flat=True))
    if title.pk not in required:
        raise DecisionError(f"{current.framework_version} does not ask for a sign-off by “{title}”.")
    if not title.holders.filter(pk=by.pk).exists():
        raise DecisionError(f"You do not hold the title “{title}”.")


def check_signer(
    decision: ReleaseDecision, by: User, title: GovernanceTitle, expected_digest: str | None = None, *,
    reaffirming: bool = False,
) -> None:
    """The sign (or re-affirm) step's checks, asked before the signer is shown the confirmation; the
    step itself checks again under its lock."""
    status = DecisionStatus.APPROVED if reaffirming else DecisionStatus.IN_REVIEW
    if decision.status != status:
        now = decision.get_status_display().lower()
        raise DecisionError(f"Only a decision {'approved' if reaffirming else 'in review'} is "
                            f"{'re-affirmed' if reaffirming else 'signed'}; this one is {now}.")  # fmt: skip
    _check_signer(decision, by, title)
    digest = _current_document(decision)[1]
    _refuse_if_changed(digest, expected_digest)
    _refuse_second_signature(decision, by, title, digest)


def _refuse_second_signature(current: ReleaseDecision, by: User, title: GovernanceTitle, digest: str) -> None:
    signed = [s for s in current.sign_offs.all() if s.digest == digest and s.content_version == CONTENT_VERSION]
    if any(s.signer_id == by.pk for s in signed):
        raise DecisionError("You have already signed this content; each title needs a different person.")
    if any(s.title_id == title.pk for s in signed):
        raise DecisionError(f"“{title}” has already signed this content.")


def _save_sign_off(
    current: ReleaseDecision, by: User, title: GovernanceTitle, kind: str, verdict: str, comment: str, content: dict,
    digest: str, key: Unlocked | None,
) -> SignOff:
    sign_off = SignOff(
        decision=current, signer=by, title=title, kind=kind, verdict=verdict, comment=comment, digest=digest,
        content_version=CONTENT_VERSION, signed_content=content,
    )  # fmt: skip
    if key is not None:
        if key.key.user_id != by.pk:
            raise DecisionError("A sign-off is signed with the signer's own key, opened by their password.")
        sign_off.signer_key = key.key
        sign_off.signature = key.sign(sign_off.statement())
    sign_off._history_user = by
    sign_off.save()
    return sign_off


def _refuse_if_changed(digest: str, expected_digest: str | None) -> None:
    if expected_digest is not None and expected_digest != digest:
        raise DecisionError(
            "The decision changed after you read it, so nothing was signed: read what it says now, then sign again."
        )


def sign(
    decision: ReleaseDecision, by: User, title: GovernanceTitle, verdict: str, comment: str = "",
    expected_digest: str | None = None, key: Unlocked | None = None,
) -> SignOff:
    """Record `by`'s sign-off for `title`; approve or reject the decision when that settles it.

    `expected_digest` is the digest of the content the signer read (the pages always pass it): when the
    content has changed since, under the row lock, nothing is signed. `key` is the signer's own key, opened
    by the password they typed (the pages always pass it): the sign-off carries their signature, and one
    without it does not count toward approval (settings.SIGN_OFFS_NEED_SIGNATURE)."""
    with transaction.atomic():
        current = _locked(decision)
        if current.status != DecisionStatus.IN_REVIEW:
            raise DecisionError("Only a decision in review can be signed off.")
        _check_signer(current, by, title)
        if verdict == SignOffVerdict.APPROVE:
            _refuse_if_gate_blocks(current, "approve it")
        content, digest = _current_document(current)
        _refuse_if_changed(digest, expected_digest)
        _refuse_second_signature(current, by, title, digest)
        sign_off = _save_sign_off(current, by, title, SignOffKind.SIGN, verdict, comment, content, digest, key)

        if verdict == SignOffVerdict.REJECT:
            _move(current, "reject", by, f"rejected by {title}", status=DecisionStatus.REJECTED)
        elif gate(current).passed:
            # The approve transition: the gate, re-run on the locked row inside this transaction.
            _approve(current, by)
        events.decision_signed(current, sign_off, by)
        decision.status = current.status
        return sign_off


def _approve(current: ReleaseDecision, by: User) -> None:
    reason = "approved: the gate passed with every required title signed"
    _move(current, "approve", by, reason, status=DecisionStatus.APPROVED)
    _affirm(current, AffirmationKind.APPROVED, by, reason)
    _supersede_earlier(current, by)


def _supersede_earlier(current: ReleaseDecision, by: User) -> None:
    """The decision `current` supersedes stops being in force, under its row lock: of two drafts that
    supersede it, only the first approved takes its place; the other is refused and rolls back."""
    if current.supersedes_id:
        earlier = ReleaseDecision.objects.select_for_update().get(pk=current.supersedes_id)
        if earlier.status != DecisionStatus.APPROVED:
            raise DecisionError(f"{earlier} is no longer in force ({earlier.get_status_display().lower()}), so this "
                                "decision cannot supersede it: supersede the decision in force instead.")  # fmt: skip
        _move(earlier, "supersede", by, f"superseded by decision {current.pk}", status=DecisionStatus.SUPERSEDED)


def record_from_source(
    decision: ReleaseDecision, by: User, reason: str = "recorded as a published source reports it"
) -> None:
    """A draft that records a decision a published source reports (e.g. a system card): frozen as
    approved, marked as recorded, with no sign-offs. The gate and every page say so; it never
    counts as a gate pass."""
    with transaction.atomic():
        current = _locked(decision)
        if current.status != DecisionStatus.DRAFT:
            raise DecisionError("Only a draft can be recorded from a published source.")
        if current.sign_offs.exists():
            raise DecisionError("A decision with sign-offs was decided here; it cannot be recorded from a source.")
        if not current.source_section.strip():
            raise DecisionError("Say where the source reports it: give the source section first.")
        _move(current, "record", by, reason, status=DecisionStatus.APPROVED, provenance=Provenance.PUBLISHED_SOURCE)
        _affirm(current, AffirmationKind.RECORDED, by, reason)
        _supersede_earlier(current, by)
        decision.status, decision.provenance = current.status, current.provenance


def reaffirm(
    decision: ReleaseDecision, by: User, title: GovernanceTitle, comment: str = "", expected_digest: str | None = None,
    key: Unlocked | None = None,
) -> SignOff:
    """Sign an approved decision's changed content again, for one required title.

    The original sign-offs stay with the digests they signed; this one is a new sign-off on the new
    digest. When every required title has re-affirmed, the change is settled (an Affirmation).
    """
    with transaction.atomic():
        current = _locked(decision)
        if current.status != DecisionStatus.APPROVED:
            raise DecisionError("Only an approved decision is re-affirmed.")
        if current.is_recorded:
            raise DecisionError(
                "This decision was recorded from a published source and has no signers to re-affirm it: "
                "supersede it with a new decision instead."
            )
        report = gate(current)
        if report.material_change is None:
            raise DecisionError("Nothing it rests on has changed since it was signed: there is nothing to re-affirm.")
        _check_signer(current, by, title)
        blocking = [check for check in report.blocking if check.code not in SIGN_OFF_CHECKS]
        if blocking:
            reasons = " ".join(check.reason for check in blocking)
            raise DecisionError(f"The changed decision no longer passes the gate, so supersede it instead: {reasons}")
        content, digest = _current_document(current)
        _refuse_if_changed(digest, expected_digest)
        _refuse_second_signature(current, by, title, digest)
        sign_off = _save_sign_off(current, by, title, SignOffKind.REAFFIRM, SignOffVerdict.APPROVE, comment, content,
                                  digest, key)  # fmt: skip
        if gate(current).passed:
            _affirm(
                current, AffirmationKind.REAFFIRMED, by, "re-affirmed: every required title signed the changed content"
            )
        events.decision_signed(current, sign_off, by)
        return sign_off


def supersede(decision: ReleaseDecision, by: User) -> ReleaseDecision:
    """Start a new draft that will replace this approved decision, with its content copied."""
    with transaction.atomic():
        current = _locked(decision)
        if current.status != DecisionStatus.APPROVED:
            raise DecisionError("Only an approved decision can be superseded.")
        _refuse_if_superseding_in_review(current)
        return _copy_into_draft(current, by, f"drafted to supersede decision {current.pk}", supersedes=current)


def _refuse_if_superseding_in_review(current: ReleaseDecision) -> None:
    """A draft that supersedes an approved decision may be abandoned, rejected or revised; none of that blocks
    a fresh start. One in review is being signed: wait for it, or withdraw it."""
    in_review = current.superseders.filter(status=DecisionStatus.IN_REVIEW).first()
    if in_review is not None:
        raise DecisionError(f"{in_review}, which supersedes this decision, is in review: withdraw it to a draft, "
                            "or wait for its sign-offs, before starting another.")  # fmt: skip


def revise(decision: ReleaseDecision, by: User) -> ReleaseDecision:
    """Copy a rejected decision into a new draft that links back to it — its determinations, their
    citations and its gap acknowledgements — for its author or another evaluator to revise and submit
    again. The rejected decision stays as it was, with its sign-offs and rejection."""
    with transaction.atomic():
        current = _locked(decision)
        if current.status != DecisionStatus.REJECTED:
            raise DecisionError("Only a rejected decision is revised into a new draft (a decision in review is "
                                "withdrawn to a draft instead).")  # fmt: skip
        open_revision = current.revisions.exclude(status=DecisionStatus.REJECTED).first()
        if open_revision is not None:
            raise DecisionError(f"This decision is already being revised: {open_revision}.")
        # The revision keeps what the rejected draft was for: the decision it would supersede stays the link.
        links = {"revises": current}
        if current.supersedes is not None:
            links["supersedes"] = current.supersedes
        return _copy_into_draft(current, by, f"drafted to revise rejected decision {current.pk}", **links)


def _copy_into_draft(current: ReleaseDecision, by: User, reason: str, **links: ReleaseDecision) -> ReleaseDecision:
    draft = ReleaseDecision(
        snapshot=current.snapshot, framework_version=current.framework_version, reference="",
        title=current.title, scope=current.scope, scope_details=current.scope_details,
        conditions=current.conditions, rationale=current.rationale, basis=current.basis,
        decided_by=current.decided_by, author=by, status=DecisionStatus.DRAFT, **links,
    )  # fmt: skip
    draft._history_user = by
    draft._change_reason = reason
    draft.save()
    for old in current.determinations.prefetch_related("cited_evaluations"):
        determination = Determination(
            decision=draft, category_id=old.category_id, threshold_id=old.threshold_id, verdict=old.verdict,
            confidence=old.confidence, residual_risk=old.residual_risk, reasoning=old.reasoning,
            safeguards=old.safeguards, safety_margin=old.safety_margin,
        )  # fmt: skip
        determination._history_user = by
        determination.save()
        determination.cited_evaluations.set(old.cited_evaluations.all())
    for gap in current.gap_acknowledgements.all():
        gap_copy = GapAcknowledgement(decision=draft, category_id=gap.category_id, rationale=gap.rationale,
                                      acknowledged_by=by)  # fmt: skip
        gap_copy._history_user = by
        gap_copy.save()
    for condition in current.review_conditions.all():
        copy = ReviewCondition(decision=draft, text=condition.text, rule=condition.rule,
                               category_id=condition.category_id, outcome=condition.outcome)  # fmt: skip
        copy._history_user = by
        copy.save()
    return draft
