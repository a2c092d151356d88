from django.apps import apps
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from riskreg.accounts.access import RoleRequiredMixin
from riskreg.forms import id_in_range

from .export import csv_lines, jsonl_lines
from .filters import AuditEventFilter
from .models import AuditEvent, AuditHead
from .words import describe, events_about

PAGE_SIZE = 25
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
        before = self.request.GET.get("before", "")
        if before.isascii() and before.isdigit() and id_in_range(before):
            events = events.filter(seq__lt=int(before))
        page = describe(events.order_by("-seq")[: PAGE_SIZE + 1])
        has_more = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
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
            next_before=page[-1].seq if has_more else None,
            filter_query=query.urlencode(),
            head=head,
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
