"""Who is told what (issue 16):

- a decision submitted → each holder of a title it needs who may sign and did not write it;
- signed, rejected, approved, re-affirmed → its authors and its signers;
- an approved decision whose evidence changed since signing → its authors and its signers;
- an approved decision whose condition for re-review the record now meets (an evaluation or an incident
  about its model, issue 19) → its authors, its signers and the holders of its titles;
- an incident report due within two days or overdue → whoever records incident reports (compliance).
- a risk's review due within 14 days or overdue → its owner (a user; a free-text owner gets no mail).

Each is queued in the transaction of the change (outbox.queue), never twice for the same thing, and
never to the person who made the change. Whoever is chosen here, one rule decides at the end, in queue()
and again when the mail is sent (outbox.wants_mail): only an active user with an address, who did not opt
out, and who may still read what the mail is about — a decision's mail (its rejection reasons among it)
never goes to someone left with no role that reads decisions.

A decision that was not made here says so where a mail first names it (issue 28): an illustration made in
riskreg, or one recorded from a published source (`named`).
"""

import datetime
from typing import cast

from django.contrib.auth import get_user_model
from django.utils import timezone

from riskreg import provenance
from riskreg.decisions.digest import CONTENT_VERSION, digest_of, load_many, signed_content
from riskreg.decisions.gate import authors_of, review_states
from riskreg.decisions.models import ConditionRule, DecisionStatus, Provenance, ReleaseDecision
from riskreg.lib.dates import day

from .models import Kind
from .outbox import queue

REVIEW_SOON_DAYS = 14


def named(decision) -> str:
    """The decision as a mail's line first names it: with one short clause when it was not decided here."""
    prov = provenance.of(decision)
    if prov.origin == provenance.Origin.ILLUSTRATION:
        return f"{decision} (an illustration made in riskreg, not in the source)"
    if prov.origin == provenance.Origin.RECORDED:
        where = f", {prov.where}" if prov.where else ""
        return f"{decision} (recorded from a published source{where}: decided there, not in riskreg)"
    return str(decision)


def _users(ids, but=None):
    ids = set(ids) - {None, getattr(but, "pk", None)}
    return get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk")


def _concerned(decision, but=None) -> set:
    """Its authors and everyone who signed it."""
    signers = decision.sign_offs.values_list("signer_id", flat=True)
    return set(_users(authors_of(decision) | set(signers), but=but))


def _asked_to_reaffirm(decision, but=None):
    """Who holds a title the decision needs now, may sign, and did not write it: the re-affirmation is theirs."""
    authors = authors_of(decision)
    holders = get_user_model().objects.filter(
        governance_titles__in=decision.framework_version.required_titles.all(), is_active=True
    ).exclude(pk__in=authors | {getattr(but, "pk", None)}).distinct()
    return {user for user in holders if user.has_perm("decisions.sign_releasedecision")}


def decision_submitted(decision, by, history_id) -> None:
    titles = list(decision.framework_version.required_titles.prefetch_related("holders"))
    authors = authors_of(decision)
    asked: dict = {}
    for title in titles:
        for holder in title.holders.all():
            if holder.pk not in authors and holder.is_active and holder.has_perm("decisions.sign_releasedecision"):
                asked.setdefault(holder, []).append(str(title))
    for holder, held in asked.items():
        queue(
            holder, kind=Kind.SUBMITTED, key=f"submitted:{decision.pk}:{history_id}:{holder.pk}",
            subject=f"Sign-off asked: {decision}", decision=decision,
            lines=[f"{by.get_full_name() or by.get_username()} submitted {named(decision)} for review.",
                   f"It needs a sign-off by {', '.join(held)}, a title you hold. Read what you are asked to sign, "
                   "then sign or reject it."],
            why=f"you hold {', '.join(held)}, which {decision.framework_version} asks to sign this decision.",
            link=decision.get_absolute_url() + "#what-you-sign",
        )  # fmt: skip


def decision_signed(decision, sign_off, by) -> None:
    """After a sign-off, a rejection, a re-affirmation or the approval it completed."""
    who = by.get_full_name() or by.get_username()
    if decision.status == DecisionStatus.REJECTED:
        kind, subject = Kind.REJECTED, f"Rejected: {decision}"
        lines = [f"{who} rejected {named(decision)} as {sign_off.title}.", f"Why: {sign_off.comment}",
                 "Its author can revise it into a new draft."]  # fmt: skip
    elif decision.status == DecisionStatus.APPROVED and sign_off.kind == "sign":
        kind, subject = Kind.APPROVED, f"Approved: {decision}"
        lines = [f"{who} signed {named(decision)} as {sign_off.title}, the last sign-off it needed: it is approved.",
                 "From now on it does not change; a change to the evidence it cites asks its signers to re-affirm."]
    else:
        verb = "re-affirmed" if sign_off.kind == "reaffirm" else "signed"
        kind, subject = Kind.SIGNED, f"{verb.capitalize()}: {decision}"
        lines = [f"{who} {verb} {named(decision)} as {sign_off.title}."]
    for person in _concerned(decision, but=by):
        queue(person, kind=kind, key=f"{kind}:{sign_off.pk}:{person.pk}", subject=subject, lines=lines,
              why="you wrote or signed this decision.", link=decision.get_absolute_url(),
              decision=decision)  # fmt: skip


def evidence_changed(evaluation_id, by=None) -> None:
    """An evaluation or its evidence changed: tell the people of each approved decision it now differs from."""
    approved = list(ReleaseDecision.objects.filter(
        status=DecisionStatus.APPROVED, provenance=Provenance.DECIDED,
        determinations__cited_evaluations=evaluation_id,
    ).distinct())  # fmt: skip
    _tell_changed(approved, by, "an evaluation it cites, or that evaluation's evidence")


def condition_watch(model_id, by=None) -> None:
    """An evaluation or an incident about a model was recorded or changed: tell the people of each approved
    decision about that model whose conditions for re-review the record now meets."""
    approved = list(ReleaseDecision.objects.filter(
        status=DecisionStatus.APPROVED, provenance=Provenance.DECIDED, snapshot__model_id=model_id,
        review_conditions__rule__in=[ConditionRule.EVALUATION, ConditionRule.INCIDENT],
    ).distinct())  # fmt: skip
    _tell_changed(approved, by, "a condition for re-review it names, now met by the record")


def _tell_changed(approved, by, what: str) -> None:
    if not approved:
        return
    states = review_states(approved)
    changed = [d for d in approved if states[d.pk].changed]
    loaded = load_many([d.pk for d in changed]) if changed else {}
    for decision in changed:
        digest = digest_of(signed_content(loaded[decision.pk], CONTENT_VERSION))
        for person in _concerned(decision, but=by) | _asked_to_reaffirm(decision, but=by):
            queue(
                person, kind=Kind.CHANGED, key=f"changed:{decision.pk}:{digest}:{person.pk}",
                subject=f"Changed since signing: {decision}", decision=decision,
                lines=[f"What the approved {named(decision)} rests on has changed since it was signed ({what}).",
                       "It stays approved as a fact of history; its signers re-affirm it, or it is superseded. "
                       "The decision's page says in words what changed."],
                why="you wrote or signed this decision.", link=decision.get_absolute_url() + "#reaffirm-form",
            )  # fmt: skip


def evaluation_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    by = getattr(instance, "_history_user", None)
    if not created:
        evidence_changed(instance.pk, by=by)
    condition_watch(instance.snapshot.model_id, by=by)


def incident_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        condition_watch(instance.model_id, by=getattr(instance, "_history_user", None))


def evidence_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        evidence_changed(instance.evaluation_id, by=getattr(instance, "_history_user", None))


def reviews_due(today=None) -> int:
    """Queue a mail to the owner of each open risk whose review is due within 14 days or overdue, once
    for each review date. Returns how many were queued."""
    from riskreg.risks.models import Risk, RiskStatus

    today = today or timezone.localdate()
    due = (Risk.objects.exclude(status=RiskStatus.CLOSED).filter(owner_user__isnull=False)
           .filter(next_review__lte=today + datetime.timedelta(days=REVIEW_SOON_DAYS)).select_related("owner_user"))
    queued = 0
    for risk in due.order_by("next_review", "pk"):
        overdue = risk.next_review < today
        when = f"{'was due' if overdue else 'is due'} on {day(risk.next_review)}"
        queued += queue(
            risk.owner_user, kind=Kind.REVIEW_DUE, key=f"review:{risk.pk}:{risk.next_review}:{risk.owner_user_id}",
            subject=f"Risk review {'overdue' if overdue else 'due'}: {risk.code} {risk.title}"[:200], risk=risk,
            lines=[f"The review of risk {risk.code} “{risk.title}” {when}.",
                   "Record the review on its page; the next one moves on by its interval."],
            why=f"you own risk {risk.code}.", link=risk.get_absolute_url(),
        ) is not None  # fmt: skip
    return queued


def incident_deadlines(now=None) -> int:
    """Queue a mail to each person who records incident reports, for every legal clock due within two days
    or overdue, once per clock and due time. Returns how many were queued."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    from riskreg.filings.clocks import running

    now = now or timezone.now()
    urgent = [(incident, clock) for incident, clock in running(now) if clock.state(now) in ("due soon", "overdue")]
    if not urgent:
        return 0
    permission = Permission.objects.filter(content_type__app_label="filings", codename="report_incident")
    officers = [user for user in get_user_model().objects.filter(
        Q(groups__permissions__in=permission) | Q(user_permissions__in=permission), is_active=True
    ).distinct().order_by("pk") if user.has_perm("filings.report_incident")]  # fmt: skip
    queued = 0
    for incident, clock in urgent:
        due = cast(datetime.datetime, clock.due)  # a clock due soon or overdue has a due time
        overdue = clock.state(now) == "overdue"
        for user in officers:
            queued += queue(
                user, kind=Kind.INCIDENT_DUE,
                key=f"incident:{incident.pk}:{clock.regime.slug}:{clock.report}:{due.isoformat()}:{user.pk}",
                subject=f"{'Overdue' if overdue else 'Due soon'}: {clock.label} on {incident}",
                lines=[f"{incident.reference} “{incident.title}”: the {clock.label} is {clock.words(now)}.",
                       f"It goes to {clock.to}; due {day(clock.due)} {clock.due:%H:%M} UTC ({clock.source}).",
                       "Record the report on the incident's page once it is sent."],
                why="you record the reports sent about incidents (compliance).", link=incident.get_absolute_url(),
            ) is not None  # fmt: skip
    return queued
