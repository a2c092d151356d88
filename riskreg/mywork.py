"""My work: what is each person's to do, worked out from the record (issue 16).

Approvers see the decisions awaiting their sign-off or re-affirmation — for titles they hold, on
decisions they did not write; evaluators see the drafts they are writing and what blocks each, and
their decisions that were rejected; risk owners see the risks whose review is due. Each task says
what to do and links to where it is done.
"""

import datetime
import time
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from riskreg import provenance
from riskreg.decisions.digest import CONTENT_VERSION, digest_of, load_many, signed_content
from riskreg.decisions.gate import SIGN_OFF_CHECKS, authors_of, gate, review_states
from riskreg.decisions.models import (
    DecisionStatus,
    Determination,
    GapAcknowledgement,
    Provenance,
    ReleaseDecision,
    SignOff,
)
from riskreg.frameworks.models import FrameworkVersion, GovernanceTitle
from riskreg.lib.dates import day, day_and_time
from riskreg.risks.models import Risk, RiskStatus

REVIEW_SOON_DAYS = 14
MOST = 50  # tasks of one kind shown; the lists hold the rest


@dataclass
class Task:
    text: str  # what to do, in words
    link: str
    link_text: str
    detail: str = ""
    overdue: bool = False


@dataclass
class Section:
    key: str
    heading: str
    tasks: list[Task] = field(default_factory=list)


def _decisions():
    return ReleaseDecision.objects.select_related("snapshot__model", "framework_version__framework")


def _held(user) -> dict[int, str]:
    """The governance titles the user holds and may sign for: none without the sign permission."""
    if not user.has_perm("decisions.sign_releasedecision"):
        return {}
    return {t.pk: str(t) for t in GovernanceTitle.objects.filter(holders=user)}


def to_sign(user, limit: int = MOST) -> list[Task]:
    """Decisions in review asking for a title the user holds and may sign, which nobody has signed on the
    content as it is now, that the user neither wrote nor has signed already.

    The digests of all candidates are worked out at once (load_many); authorship and the gate's words
    only for the decisions that qualify, up to `limit` of them — the cap counts tasks, not candidates.
    """
    held = _held(user)
    if not held:
        return []
    candidates = list(_decisions().filter(status=DecisionStatus.IN_REVIEW, framework_version__required_titles__in=held)
                      .exclude(author=user).distinct().order_by("id"))  # fmt: skip
    if not candidates:
        return []
    loaded = load_many([d.pk for d in candidates])
    required = _required_titles([d.framework_version_id for d in candidates])
    sign_offs: dict[int, list] = {}
    for row in SignOff.objects.filter(decision__in=candidates).values("decision_id", "signer_id", "title_id", "digest",
                                                                      "content_version"):  # fmt: skip
        sign_offs.setdefault(row["decision_id"], []).append(row)
    tasks = []
    for decision in candidates:
        digest = digest_of(signed_content(loaded[decision.pk], CONTENT_VERSION))
        current = [r for r in sign_offs.get(decision.pk, []) if (r["digest"], r["content_version"]) == (digest,
                                                                                                 CONTENT_VERSION)]
        if any(r["signer_id"] == user.pk for r in current):
            continue
        signed = {r["title_id"] for r in current}
        waiting = [(pk, name) for pk, name in required.get(decision.framework_version_id, []) if pk not in signed]
        titles = [name for pk, name in waiting if pk in held]
        if not titles or user.pk in authors_of(decision):
            continue
        tasks.append(Task(text=f"Sign {provenance.named(decision)} as {', '.join(titles)}", link_text="Read and sign",
                          link=decision.get_absolute_url() + "#what-you-sign",
                          detail=f"Awaiting sign-off by {', '.join(name for _, name in waiting)}."))  # fmt: skip
        if len(tasks) >= limit:
            break
    return tasks


def _required_titles(version_ids) -> dict[int, list]:
    through = FrameworkVersion.required_titles.through
    titles: dict[int, list] = {}
    for row in through.objects.filter(frameworkversion_id__in=set(version_ids)).select_related("governancetitle") \
            .order_by("governancetitle__name"):
        titles.setdefault(row.frameworkversion_id, []).append((row.governancetitle_id, str(row.governancetitle)))
    return titles


def to_reaffirm(user, limit: int = MOST) -> list[Task]:
    """Approved decisions changed since signing that await re-affirmation by a title the user holds.

    Which approved decisions changed is worked out for all candidates at once (review_states); the gate
    runs only for those that did."""
    held = _held(user)
    if not held:
        return []
    candidates = _decisions().filter(status=DecisionStatus.APPROVED, provenance=Provenance.DECIDED,
                                     framework_version__required_titles__in=held).distinct().order_by("id")  # fmt: skip
    changed = [d for d, state in _with_states(candidates) if state.changed]
    tasks = []
    for decision in changed:
        report = gate(decision)
        change = report.material_change
        if change is None or user.pk in authors_of(decision):
            continue
        if any(s.signer_id == user.pk and report.is_current(s) for s in decision.sign_offs.all()):
            continue  # re-affirmed this content already: each title is re-affirmed by someone else
        mine = [name for name in held.values() if name in change.awaiting]
        if mine:
            tasks.append(Task(
                text=f"Re-affirm {provenance.named(decision)} as {', '.join(mine)}: what it rests on changed since "
                     "signing",
                link=decision.get_absolute_url() + "#reaffirm-form", link_text="See the change and re-affirm",
                detail="; ".join(c.text for c in change.changes[:3]),
            ))  # fmt: skip
            if len(tasks) >= limit:
                break
    return tasks


def _with_states(decisions, batch: int = 500):
    """(decision, review state) for each, a batch at a time: a fixed number of queries per batch."""
    decisions = list(decisions)
    for start in range(0, len(decisions), batch):
        chunk = decisions[start:start + batch]
        states = review_states(chunk)
        yield from ((d, states[d.pk]) for d in chunk)


def _written_by(user):
    """Decisions the user authored, or changed, or changed a part of: theirs to see through."""
    return (Q(author=user) | Q(pk__in=ReleaseDecision.history.filter(history_user=user).values("id"))
            | Q(pk__in=Determination.history.filter(history_user=user).values("decision_id"))
            | Q(pk__in=GapAcknowledgement.history.filter(history_user=user).values("decision_id")))  # fmt: skip


def _theirs(user, candidates, limit: int):
    """The candidates (newest first) the user is an author of as the gate counts authors — a lifecycle step
    such as a rejection or a withdrawal makes nobody an author — up to `limit` of them."""
    found = []
    for decision in candidates.order_by("-id")[: limit * 4]:
        if user.pk in authors_of(decision):
            found.append(decision)
            if len(found) >= limit:
                break
    return found


def drafts(user, limit: int = MOST) -> list[Task]:
    tasks = []
    for decision in _theirs(user, _decisions().filter(_written_by(user), status=DecisionStatus.DRAFT), limit):
        report = gate(decision)
        problems = [c for c in report.blocking if c.code not in SIGN_OFF_CHECKS]
        name = provenance.named(decision)
        if problems:
            text = f"Fix {len(problems)} problem{'s' if len(problems) > 1 else ''} in the draft {name}"
            detail = "; ".join(c.reason for c in problems[:3])
        else:
            text, detail = f"Submit the draft {name} for review", "Its checks pass: it is ready to submit."
        tasks.append(Task(text=text, link=decision.get_absolute_url(), link_text="Open the draft", detail=detail))
    return tasks


def returned(user, limit: int = MOST) -> list[Task]:
    """Rejected decisions the user wrote or worked on that nobody is revising yet."""
    revising = ReleaseDecision.objects.exclude(status=DecisionStatus.REJECTED).filter(revises__isnull=False)
    rejected = (_decisions().filter(_written_by(user), status=DecisionStatus.REJECTED)
                .exclude(pk__in=revising.values("revises_id")).prefetch_related("sign_offs__title"))  # fmt: skip
    tasks = []
    for decision in _theirs(user, rejected, limit):
        why = [f"{s.title}: {s.comment}" for s in decision.sign_offs.all() if s.verdict == "reject" and s.comment]
        tasks.append(Task(text=f"{provenance.named(decision)} was rejected: revise it into a new draft, or leave it",
                          link=decision.get_absolute_url(), link_text="Read why and revise",
                          detail="; ".join(why[:3])))  # fmt: skip
    return tasks


def staged_imports(session) -> list[Task]:
    """Uploads previewed in this session and not confirmed (they wait in staging for a day at most)."""
    from riskreg.importers.views import SESSION_KEY, STAGING_HOURS

    tasks = []
    for names in (session or {}).get(SESSION_KEY, {}).values():
        shown = [entry[1] if isinstance(entry, list) else entry for entry in names]
        tasks.append(Task(
            text=f"Confirm or drop the import you previewed: {', '.join(shown[:3])}"
                 + (f" and {len(shown) - 3} more" if len(shown) > 3 else ""),
            link=reverse("importers:upload"), link_text="Upload it again to confirm",
            detail=f"The preview's page is gone once left; the staged files are deleted after {STAGING_HOURS} hours.",
        ))  # fmt: skip
    return tasks


def risks_due(user, today=None, limit: int = MOST) -> list[Task]:
    """Open risks whose next review has passed or comes within 14 days, whose owner names the user."""
    if not user.has_perm("risks.view_risk"):
        return []
    today = today or timezone.localdate()
    named = Q(owner_user=user)
    if user.has_perm("risks.change_risk"):  # a free-text owner naming the user: theirs to review only if they may
        for name in {user.get_username(), user.get_full_name()} - {""}:
            named |= Q(owner_user__isnull=True, owner__iexact=name)
    due = (Risk.objects.exclude(status=RiskStatus.CLOSED).filter(named)
           .filter(next_review__lte=today + datetime.timedelta(days=REVIEW_SOON_DAYS)).order_by("next_review"))
    tasks = []
    for risk in due[:limit]:
        overdue = risk.next_review < today
        when = (f"was due on {day(risk.next_review)}" if overdue else f"is due on {day(risk.next_review)}")
        tasks.append(Task(text=f"Review risk {risk.code} {risk.title}: its review {when}", link=risk.get_absolute_url(),
                          link_text="Review the risk", overdue=overdue,
                          detail="Record the review on its page; the next one moves on by its interval."))  # fmt: skip
    return tasks


def incident_reports_due(user, limit: int = MOST) -> list[Task]:
    """For those who record reports on incidents: every legal clock still running, overdue first."""
    from riskreg.filings.clocks import running

    if not user.has_perm("filings.report_incident"):
        return []
    now = timezone.now()
    tasks = []
    for incident, clock in running(now)[:limit]:
        tasks.append(Task(text=f"{incident.reference} {incident.title} — {clock.label}: {clock.words(now)}",
                          link=incident.get_absolute_url(), link_text="Open the incident",
                          overdue=clock.state(now) == "overdue",
                          detail=f"To {clock.to}; due {day_and_time(clock.due)} UTC ({clock.source})."))  # fmt: skip
    return tasks


def my_work(user, session=None, limit: int = MOST) -> list[Section]:
    sections = [
        Section("sign", "Awaiting your sign-off", to_sign(user, limit)),
        Section("reaffirm", "Awaiting your re-affirmation", to_reaffirm(user, limit)),
    ]
    if user.has_perm("decisions.add_releasedecision"):
        sections.append(Section("drafts", "Drafts you are writing", drafts(user, limit)))
        sections.append(Section("returned", "Your decisions that were rejected", returned(user, limit)))
    sections.append(Section("risks", "Risk reviews due (risks you own)", risks_due(user, limit=limit)))
    if user.has_perm("filings.report_incident"):
        sections.append(Section("incidents", "Incident reports due", incident_reports_due(user, limit)))
    if user.has_perm("evaluations.add_evaluation"):
        sections.append(Section("imports", "Imports you previewed and did not confirm", staged_imports(session)))
    return sections


def count(sections: list[Section]) -> int:
    return sum(len(section.tasks) for section in sections)


SESSION_COUNT = "my_work_count"
COUNT_SECONDS = 10 * 60


def remember_count(session, total: int) -> None:
    """Keep the count My work (or logging in) just worked out, for the header of the pages that follow."""
    session[SESSION_COUNT] = [total, int(time.time())]


def header_count(session) -> int | None:
    """The header's count: as worked out at log-in or on My work within the last ten minutes; None after
    that. Other pages never work it out themselves, so a list page costs no more for it."""
    found = session.get(SESSION_COUNT) if session is not None else None
    if not found or time.time() - found[1] > COUNT_SECONDS:
        return None
    return found[0]


def risks_url() -> str:
    return reverse("risks:list")
