"""My work: what is each person's to do, worked out from the record (issue 16).

Approvers see the decisions awaiting their sign-off or re-affirmation — for titles they hold, on
decisions they did not write; evaluators see the drafts they are writing and what blocks each, and
their decisions that were rejected; risk owners see the risks whose review is due. Each task says
what to do and links to where it is done.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from riskreg.decisions.gate import SIGN_OFF_CHECKS, authors_of, gate
from riskreg.decisions.models import DecisionStatus, Provenance, ReleaseDecision
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


def to_sign(user) -> list[Task]:
    """Decisions in review that ask for a title the user holds, not yet signed for it, not written by them."""
    held = set(user.governance_titles.values_list("pk", flat=True)) if hasattr(user, "governance_titles") else set()
    if not held:
        return []
    tasks = []
    candidates = _decisions().filter(status=DecisionStatus.IN_REVIEW, framework_version__required_titles__in=held)
    for decision in candidates.distinct().order_by("id")[:MOST]:
        if user.pk in authors_of(decision):
            continue
        report = gate(decision)
        signed = {s.title_id for s in decision.sign_offs.all() if report.is_current(s)}
        titles = [t for t in decision.framework_version.required_titles.all() if t.pk in held and t.pk not in signed]
        if not titles:
            continue
        problems = [c for c in report.blocking if c.code not in SIGN_OFF_CHECKS]
        names = ", ".join(str(t) for t in titles)
        detail = report.headline + (f"; {len(problems)} problem(s) the gate reports" if problems else "")
        tasks.append(Task(text=f"Sign {decision} as {names}", link=decision.get_absolute_url() + "#what-you-sign",
                          link_text="Read and sign", detail=detail))  # fmt: skip
    return tasks


def to_reaffirm(user) -> list[Task]:
    """Approved decisions changed since signing that await re-affirmation by a title the user holds."""
    held = {t.pk: str(t) for t in user.governance_titles.all()} if hasattr(user, "governance_titles") else {}
    if not held:
        return []
    tasks = []
    candidates = _decisions().filter(status=DecisionStatus.APPROVED, provenance=Provenance.DECIDED,
                                     framework_version__required_titles__in=held)  # fmt: skip
    for decision in candidates.distinct().order_by("id")[:MOST]:
        report = gate(decision)
        change = report.material_change
        if change is None or user.pk in authors_of(decision):
            continue
        mine = [name for name in held.values() if name in change.awaiting]
        if mine:
            tasks.append(Task(
                text=f"Re-affirm {decision} as {', '.join(mine)}: what it rests on changed since signing",
                link=decision.get_absolute_url() + "#reaffirm-form", link_text="See the change and re-affirm",
                detail="; ".join(c.text for c in change.changes[:3]),
            ))  # fmt: skip
    return tasks


def drafts(user) -> list[Task]:
    tasks = []
    for decision in _decisions().filter(author=user, status=DecisionStatus.DRAFT).order_by("-id")[:MOST]:
        report = gate(decision)
        problems = [c for c in report.blocking if c.code not in SIGN_OFF_CHECKS]
        if problems:
            text = f"Fix {len(problems)} problem{'s' if len(problems) > 1 else ''} in the draft {decision}"
            detail = "; ".join(c.reason for c in problems[:3])
        else:
            text, detail = f"Submit the draft {decision} for review", "Its checks pass: it is ready to submit."
        tasks.append(Task(text=text, link=decision.get_absolute_url(), link_text="Open the draft", detail=detail))
    return tasks


def returned(user) -> list[Task]:
    tasks = []
    rejected = _decisions().filter(author=user, status=DecisionStatus.REJECTED).prefetch_related("sign_offs")
    for decision in rejected.order_by("-id")[:MOST]:
        if decision.revisions.exclude(status=DecisionStatus.REJECTED).exists():
            continue
        why = [f"{s.title}: {s.comment}" for s in decision.sign_offs.all() if s.verdict == "reject" and s.comment]
        tasks.append(Task(text=f"{decision} was rejected: revise it into a new draft, or leave it",
                          link=decision.get_absolute_url(), link_text="Read why and revise",
                          detail="; ".join(why[:3])))  # fmt: skip
    return tasks


def risks_due(user, today=None) -> list[Task]:
    """Open risks whose next review has passed or comes within 14 days, whose owner names the user."""
    today = today or timezone.localdate()
    names = {user.get_username(), user.get_full_name()} - {""}
    named = Q(owner_user=user)
    for name in names:  # a free-text owner naming the user, for risks recorded before owners were users
        named |= Q(owner_user__isnull=True, owner__iexact=name)
    due = (Risk.objects.exclude(status=RiskStatus.CLOSED).filter(named)
           .filter(next_review__lte=today + datetime.timedelta(days=REVIEW_SOON_DAYS)).order_by("next_review"))
    tasks = []
    for risk in due[:MOST]:
        overdue = risk.next_review < today
        when = (f"was due on {risk.next_review:%d %b %Y}" if overdue else f"is due on {risk.next_review:%d %b %Y}")
        tasks.append(Task(text=f"Review risk {risk.code} {risk.title}: its review {when}", link=risk.get_absolute_url(),
                          link_text="Review the risk", overdue=overdue,
                          detail="Record the review on its page; the next one moves on by its interval."))  # fmt: skip
    return tasks


def my_work(user) -> list[Section]:
    sections = [Section("sign", "Awaiting your sign-off")]
    sections[0].tasks = to_sign(user)
    sections.append(Section("reaffirm", "Awaiting your re-affirmation", to_reaffirm(user)))
    if user.has_perm("decisions.add_releasedecision"):
        sections.append(Section("drafts", "Drafts you are writing", drafts(user)))
        sections.append(Section("returned", "Your decisions that were rejected", returned(user)))
    sections.append(Section("risks", "Risk reviews due (risks you own)", risks_due(user)))
    return sections


def count(sections: list[Section]) -> int:
    return sum(len(section.tasks) for section in sections)


def risks_url() -> str:
    return reverse("risks:list")
