"""The decision record (issue 17): everything about one decision a board or a regulator is handed —
scope, status, the gate as it stands and as it stood at approval, each determination with its cited
evaluations and their evidence (SHA-256), gap acknowledgements, sign-offs with the digest each person
signed, the history of the decision and its parts in words, and the audit head when it was printed.

The same template is the printable HTML page and, through WeasyPrint, the PDF; the PDF is made
offline: the only files it may read are the app's own static files (its stylesheet and fonts).
"""

from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from riskreg.audit.models import AuditHead
from riskreg.audit.words import describe, events_about
from riskreg.evaluations.models import Evaluation, Evidence

from .gate import gate
from .models import Determination, GapAcknowledgement, ReleaseDecision, SignOff

STATIC = Path(settings.BASE_DIR) / "static"
PARTS = ["decisions.Determination", "decisions.GapAcknowledgement", "decisions.SignOff", "decisions.Affirmation"]


def _decision(pk):
    evidence = Prefetch("evidence", queryset=Evidence.objects.order_by("id"))
    evaluations = Evaluation.objects.order_by("source_section", "id").prefetch_related(evidence)
    cited = Prefetch("cited_evaluations", queryset=evaluations)
    return (ReleaseDecision.objects.select_related("snapshot__model", "framework_version__framework", "author")
            .prefetch_related(
                Prefetch("determinations", queryset=Determination.objects.select_related("category", "threshold")
                         .prefetch_related(cited)),
                Prefetch("gap_acknowledgements", queryset=GapAcknowledgement.objects.select_related(
                    "category", "acknowledged_by")),
                Prefetch("sign_offs", queryset=SignOff.objects.select_related("signer", "title").order_by("id")),
                "framework_version__required_titles",
            ).get(pk=pk))  # fmt: skip


def context(pk) -> dict:
    decision = _decision(pk)
    report = gate(decision)
    sign_offs = list(decision.sign_offs.all())
    for sign_off in sign_offs:
        sign_off.is_current = report.is_current(sign_off)
    approval = decision.affirmations.filter(kind="approved").select_related("affirmed_by").first()
    head = AuditHead.objects.first()
    return {**_pictures(decision),
        "object": decision, "report": report, "sign_offs": sign_offs, "approval": approval,
        "events": describe(events_about(decision, dict.fromkeys(PARTS, "decision"))),
        "head": f"{head.seq}:{head.hash}" if head else "0:—", "printed_at": timezone.now(),
    }  # fmt: skip


def _pictures(decision) -> dict:
    """The framework version's coverage, with the model's concerning categories marked, and the model's
    timeline: the same pictures as the model page, drawn into the record (and the PDF)."""
    from riskreg.evaluations.models import Outcome, Snapshot
    from riskreg.evaluations.timeline import timeline_svg
    from riskreg.frameworks.models import Coverage, ThreatCategory

    from .gate import annotate_review_states

    model = decision.snapshot.model
    levels = {c.category_id: c for c in Coverage.objects.filter(framework_version=decision.framework_version)}
    concerning = set(Evaluation.objects.filter(snapshot__model=model, outcome__in=Outcome.concerning())
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
