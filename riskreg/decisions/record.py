"""The decision record (issue 17): everything about one decision a board or a regulator is handed —
scope, status, the gate as it stands and as it stood at approval, each determination with its cited
evaluations and their evidence (SHA-256), gap acknowledgements, sign-offs with the digest each person
signed, the history of the decision and its parts in words, and the audit head when it was printed.

The same template is the printable HTML page and, through WeasyPrint, the PDF; the PDF is made
offline: the only files it may read are the app's own static files (its stylesheet and fonts).
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from riskreg import provenance
from riskreg.audit.models import AuditHead
from riskreg.audit.words import describe, events_about
from riskreg.evaluations.models import Evaluation, Evidence

from .digest import conditions_in_words, describe_changes, digest_of, load, signed_content
from .gate import _add_history_notes, gate
from .models import (
    AffirmationKind,
    DecisionStatus,
    Determination,
    GapAcknowledgement,
    ReleaseDecision,
    SignOff,
    SignOffVerdict,
)

STATIC = Path(settings.BASE_DIR) / "static"
PARTS = ["decisions.Determination", "decisions.GapAcknowledgement", "decisions.SignOff", "decisions.Affirmation",
         "decisions.ReviewCondition"]


def _decision(pk):
    evidence = Prefetch("evidence", queryset=Evidence.objects.order_by("id"))
    evaluations = Evaluation.objects.select_related("threshold").order_by("source_section", "id").prefetch_related(
        evidence)
    cited = Prefetch("cited_evaluations", queryset=evaluations)
    return (ReleaseDecision.objects.select_related("snapshot__model", "framework_version__framework", "author")
            .prefetch_related(
                Prefetch("determinations", queryset=Determination.objects.select_related("category", "threshold")
                         .prefetch_related(cited)),
                Prefetch("gap_acknowledgements", queryset=GapAcknowledgement.objects.select_related(
                    "category", "acknowledged_by")),
                Prefetch("sign_offs", queryset=SignOff.objects.select_related("signer", "title", "signer_key")
                         .order_by("id")),
                "framework_version__required_titles",
            ).get(pk=pk))  # fmt: skip


def context(pk) -> dict:
    decision = _decision(pk)
    report = gate(decision)
    sign_offs = list(decision.sign_offs.all())
    for sign_off in sign_offs:
        sign_off.is_current = report.is_current(sign_off)
    head = AuditHead.objects.first()
    return {**_pictures(decision), **_standing(decision),
        "object": decision, "report": report, "sign_offs": sign_offs,
        "events": describe(events_about(decision, dict.fromkeys(PARTS, "decision"))),
        "head": f"{head.seq}:{head.hash}" if head else "0:—", "printed_at": timezone.now(),
        "review_conditions": conditions_in_words(load(pk)), "notice": provenance.notice(decision),
    }  # fmt: skip


@dataclass
class Standing:
    """One time the decision's content was affirmed as a whole: approved, recorded or re-affirmed."""

    kind: str
    label: str
    digest: str
    content_version: int
    content: dict
    at: datetime.datetime
    by: object
    from_sign_off: bool = False  # approved before affirmations were kept: the last approving sign-off
    is_current: bool = False

    @property
    def verb(self) -> str:
        return {AffirmationKind.REAFFIRMED.value: "re-affirmed"}.get(self.kind, str(self.kind))


def _standing(decision) -> dict:
    """Every affirmation of the decision, oldest first, each measured against the content now in its own
    document format; and, when the newest no longer matches, what changed since it, in words.

    A decision approved before affirmations were kept stands on its last approving sign-off (as the gate
    reads it). A superseded decision's changes are listed too: the record says what it was and what moved.
    """
    rows = [
        Standing(row.kind, row.get_kind_display(), row.digest, row.content_version, row.content, row.affirmed_at,
                 row.affirmed_by)
        for row in decision.affirmations.select_related("affirmed_by").order_by("affirmed_at", "id")
    ]  # fmt: skip
    if not rows and decision.status in (DecisionStatus.APPROVED, DecisionStatus.SUPERSEDED):
        last = (SignOff.objects.filter(decision=decision, verdict=SignOffVerdict.APPROVE)
                .select_related("signer").order_by("-id").first())  # fmt: skip
        if last is not None:
            rows = [Standing(AffirmationKind.APPROVED, AffirmationKind.APPROVED.label, last.digest,
                             last.content_version, last.signed_content, last.signed_at, last.signer,
                             from_sign_off=True)]  # fmt: skip
    if not rows:
        return {"standing": [], "approval": None, "newest": None, "changes": [], "again": None}
    loaded = load(decision.pk)
    contents = {version: signed_content(loaded, version) for version in {row.content_version for row in rows}}
    for row in rows:
        row.is_current = row.digest == digest_of(contents[row.content_version])
    newest = rows[-1]
    changes = []
    if not newest.is_current:
        changes = describe_changes(newest.content or {}, contents[newest.content_version])
        _add_history_notes(changes, newest.at)
    approval = next((row for row in rows if row.kind in (AffirmationKind.APPROVED, AffirmationKind.RECORDED)), None)
    # Changed since the newest, yet back to what an earlier one affirmed: every sign-off on that content stands.
    again = None if newest.is_current else next((row for row in reversed(rows) if row.is_current), None)
    return {"standing": rows, "approval": approval, "newest": newest, "changes": changes, "again": again}


def _pictures(decision) -> dict:
    """The framework version's coverage, with the snapshot's concerning categories marked, and the model's
    timeline: the same pictures as the model page, drawn into the record (and the PDF)."""
    from riskreg.evaluations.models import Outcome, Snapshot
    from riskreg.evaluations.timeline import timeline_svg
    from riskreg.frameworks.models import Coverage, ThreatCategory

    from .gate import annotate_review_states

    model = decision.snapshot.model
    levels = {c.category_id: c for c in Coverage.objects.filter(framework_version=decision.framework_version)}
    # The decision's own snapshot, as the gate judges it (another snapshot's results are not this release's).
    concerning = set(Evaluation.objects.filter(snapshot=decision.snapshot, outcome__in=Outcome.concerning())
                     .values_list("category_id", flat=True))  # fmt: skip
    coverage = [(category, levels.get(category.pk), category.pk in concerning)
                for category in ThreatCategory.objects.all()]  # fmt: skip
    snapshots = list(Snapshot.objects.filter(model=model).order_by("available_from", "id"))
    decisions = annotate_review_states(ReleaseDecision.objects.filter(snapshot__model=model)
                                      .select_related("snapshot").order_by("effective_date", "id"))  # fmt: skip
    return {"coverage": coverage, "timeline": timeline_svg(model, snapshots, decisions)}


class OfflineFetcher:
    """WeasyPrint's URL fetcher, limited to the app's own static files: nothing from the network, nothing
    else on disk (a URL in a record's text cannot make the server fetch anything)."""

    def __new__(cls):
        from weasyprint.urls import URLFetcher

        class _Fetcher(URLFetcher):
            def fetch(self, url, headers=None):
                if not url.startswith("file://"):
                    raise ValueError(f"the record is made offline; not fetched: {url[:80]}")
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if not path.is_relative_to(STATIC.resolve()):
                    raise ValueError("only the app's static files are read")
                return super().fetch(path.as_uri(), headers)

        return _Fetcher(allowed_protocols=["file"], allow_redirects=False)


def pdf(pk) -> bytes:
    from weasyprint import HTML

    html = render_to_string("decisions/record.html", {**context(pk), "for_pdf": True,
                                                       "static_base": STATIC.resolve().as_uri() + "/"})  # fmt: skip
    return HTML(string=html, base_url=STATIC.resolve().as_uri() + "/", url_fetcher=OfflineFetcher()).write_pdf()
