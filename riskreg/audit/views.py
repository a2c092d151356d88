from django.apps import apps
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from riskreg.accounts.access import RoleRequiredMixin
from riskreg.lib.pagination import PAGE_SIZE, keyset_page

from . import merkle, signing
from .export import csv_lines, jsonl_lines
from .filters import AuditEventFilter
from .models import AuditCheckpoint, AuditEvent, AuditHead
from .verify import NoteError
from .words import describe, events_about

COUNT_UP_TO = 10_000  # a filtered count stops here ("more than 10,000"): counting further would be slow


class AuditAccessMixin(RoleRequiredMixin):
    """Auditors and admins only."""

    permission_required = "audit.view_auditevent"


# Records whose page is found from their id alone; the others link to the admin for staff.
PAGES = {
    "evaluations.Evaluation": "evaluations:detail",
    "risks.Risk": "risks:detail",
    "decisions.ReleaseDecision": "decisions:detail",
}


def _record_url(user, event) -> str:
    if event.action != "-" and event.model in PAGES:
        return reverse(PAGES[event.model], args=[event.object_id])
    if not user.is_staff:
        return ""
    app_label, model_name = event.model.lower().split(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_history", args=[event.object_id])
    except NoReverseMatch:
        return ""


class AuditEventListView(AuditAccessMixin, TemplateView):
    """The trail, newest first, filtered; keyset pages (?before=SEQ). The count of all events is the
    head's sequence number; a filtered count stops at COUNT_UP_TO and says so."""

    template_name = "audit/auditevent_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = AuditEventFilter(self.request.GET or None, queryset=AuditEvent.objects.all())
        events = filterset.qs if filterset.is_bound and filterset.is_valid() else AuditEvent.objects.none()
        if not filterset.is_bound:
            events = AuditEvent.objects.all()
        matching = events
        older = keyset_page(events, "-seq", self.request.GET.get("before", ""), PAGE_SIZE)  # ?before=: newest first
        page = describe(older.rows)
        for event in page:
            event.record_url = _record_url(self.request.user, event)
        query = self.request.GET.copy()
        query.pop("before", None)
        head = AuditHead.objects.filter(pk=1).first()
        valid = not filterset.is_bound or filterset.is_valid()
        filtered = filterset.is_bound and valid and any(
            value not in (None, "") for value in filterset.form.cleaned_data.values()
        )
        if not valid:
            count, more = 0, False
        elif not filtered:  # every event: the head's sequence number is their count, read for free
            count, more = (head.seq if head else 0), False
        else:
            count = matching.order_by()[: COUNT_UP_TO + 1].count()
            count, more = min(count, COUNT_UP_TO), count > COUNT_UP_TO
        context.update(
            count=count,
            more_than=more,
            filter=filterset,
            events=page,
            next_before=older.next_key,
            is_first_page=older.is_first,
            filter_query=query.urlencode(),
            head=head,
            checkpoint=merkle.latest_trusted(),
        )
        return context


class AuditExportView(AuditAccessMixin, View):
    """The filtered trail as a streamed CSV or JSON Lines download."""

    permission_required = "audit.export_auditevent"

    def get(self, request, fmt):
        filterset = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.all())
        if filterset.is_bound and not filterset.is_valid():
            return HttpResponseBadRequest("Invalid filter: " + filterset.errors.as_text(), content_type="text/plain")
        events = filterset.qs if filterset.is_bound else AuditEvent.objects.all()
        lines = csv_lines(events) if fmt == "csv" else jsonl_lines(events)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(
            lines, content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/jsonl; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="riskreg-audit-{stamp}.{fmt}"'
        return response


class RecordHistoryView(RoleRequiredMixin, TemplateView):
    """A record's history page: every event about it and about its parts, in words (issue 17)."""

    template_name = "audit/record_history.html"
    model = None
    parts: dict = {}
    parts_named = ""

    def get_context_data(self, **kwargs):
        record = get_object_or_404(self.model, pk=self.kwargs["pk"])
        events = describe(events_about(record, self.parts))
        return {**super().get_context_data(**kwargs), "record": record, "events": events,
                "kind": self.model._meta.verbose_name, "parts_named": self.parts_named}  # fmt: skip


def history_view(model_label: str, permission: str, parts: dict, parts_named: str):
    return RecordHistoryView.as_view(model=apps.get_model(model_label), permission_required=permission, parts=parts,
                                     parts_named=parts_named)  # fmt: skip


# -- signed checkpoints and proofs (issue 18) ----------------------------------------------------------


def _plain(text: str, status: int = 200, filename: str = "") -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-cache"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CheckpointView(View):
    """The latest signed checkpoint (or checkpoint N), as plain text, without login: for witnesses.

    The latest is the one with the largest tree whose note verifies against the configured key: a row
    the app's role planted, or a copy of an older checkpoint, is never served (issue 27)."""

    def get(self, request, pk=None):
        if pk is None:
            checkpoint = merkle.latest_trusted()
            if checkpoint is None:
                return _plain("No checkpoint has been signed yet.\n", status=404)
            return _plain(checkpoint.note)
        checkpoint = AuditCheckpoint.objects.filter(pk=pk).first()
        if checkpoint is None:
            return _plain("No such checkpoint.\n", status=404)
        try:
            merkle.trusted(checkpoint)
        except NoteError as error:
            return _plain(f"Checkpoint {pk} does not verify against this log's verifier key: {error}.\n", status=404)
        return _plain(checkpoint.note)


class VerifierKeyView(View):
    """The verifier key for the checkpoints' signatures, as plain text, without login."""

    def get(self, request):
        key = signing.published_key()  # from configuration only: never a key stored in a checkpoint row (issue 27)
        if not key:
            return _plain("No signing key is set up yet.\n", status=404)
        return _plain(key + "\n")


class ProveView(AuditAccessMixin, TemplateView):
    """One event's inclusion proof against the newest checkpoint that holds it, and consistency proofs."""

    template_name = "audit/prove.html"

    def get(self, request, *args, **kwargs):
        if request.GET.get("download") and (document := self._document()):
            return _plain(document, filename=f"riskreg-event-{self.kwargs['seq']}-inclusion-proof.txt")
        return super().get(request, *args, **kwargs)

    def _document(self) -> str:
        seq = self.kwargs["seq"]
        checkpoint = merkle.covering(seq)
        if checkpoint is None or not AuditEvent.objects.filter(seq=seq).exists():
            return ""
        try:
            return merkle.inclusion_document(seq, checkpoint)
        except merkle.TreeError:
            return ""

    def get_context_data(self, **kwargs):
        seq = self.kwargs["seq"]
        event = AuditEvent.objects.filter(seq=seq).first()
        if event is None:
            raise Http404("No such event.")
        checkpoint = merkle.covering(seq)
        document, problem = "", ""
        if checkpoint is not None:
            try:
                document = merkle.inclusion_document(seq, checkpoint)
            except merkle.TreeError as error:
                problem = str(error)
        return {**super().get_context_data(**kwargs), "event": describe([event])[0], "checkpoint": checkpoint,
                "document": document, "problem": problem, "latest": merkle.latest_trusted(),
                "checkpoints": AuditCheckpoint.objects.order_by("-id")[:50]}  # fmt: skip


class ConsistencyView(AuditAccessMixin, View):
    """A consistency proof between two checkpoints (?old=N&new=M), as a plain-text download."""

    def get(self, request):
        old, new = request.GET.get("old", ""), request.GET.get("new", "")
        if not all(v.isascii() and v.isdigit() for v in (old, new)):
            return _plain("Give two checkpoint numbers: ?old=N&new=M.\n", status=400)
        # Two exact lookups, not pk__in: Django drops an id too large for the column from an exact
        # lookup, while SQLite raises OverflowError on one in an IN list.
        found = {c.pk: c for c in AuditCheckpoint.objects.filter(Q(pk=int(old)) | Q(pk=int(new)))}
        if int(old) not in found or int(new) not in found:
            return _plain("No such checkpoint.\n", status=404)
        try:
            document = merkle.consistency_document(found[int(old)], found[int(new)])
        except merkle.TreeError as error:
            return _plain(f"No proof: {error}\n", status=409)
        return _plain(document, filename=f"riskreg-checkpoints-{old}-{new}-consistency-proof.txt")


class SignCheckpointView(AuditAccessMixin, View):
    """Sign a checkpoint now (auditors who may export), rather than wait for cron."""

    permission_required = "audit.export_auditevent"

    def post(self, request):
        try:
            checkpoint, made = merkle.make_checkpoint()
        except (signing.KeyUnavailable, merkle.TreeError) as error:
            messages.error(request, f"No checkpoint signed: {error}")
            return redirect("audit:list")
        messages.success(request, f"Checkpoint {checkpoint.pk} signed: {checkpoint.tree_size} events."
                         if made else f"Nothing new since checkpoint {checkpoint.pk}.")  # fmt: skip
        for problem in checkpoint.problems:
            messages.warning(request, f"Found while signing: {problem}. Run manage.py verify_audit.")
        target = request.POST.get("next", "")
        if target.isascii() and target.isdigit():
            return redirect("audit:prove", seq=int(target))
        return redirect("audit:list")
