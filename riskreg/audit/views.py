from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from riskreg.accounts.access import RoleRequiredMixin
from riskreg.forms import id_in_range

from .export import csv_lines, jsonl_lines
from .filters import AuditEventFilter
from .models import AuditEvent, AuditHead

PAGE_SIZE = 50


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
    """The trail, newest first, filtered; keyset pages (?before=SEQ) so no page needs a COUNT."""

    template_name = "audit/auditevent_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = AuditEventFilter(self.request.GET or None, queryset=AuditEvent.objects.all())
        events = filterset.qs if filterset.is_bound and filterset.is_valid() else AuditEvent.objects.none()
        if not filterset.is_bound:
            events = AuditEvent.objects.all()
        before = self.request.GET.get("before", "")
        if before.isdigit() and id_in_range(before):
            events = events.filter(seq__lt=int(before))
        page = list(events.order_by("-seq")[: PAGE_SIZE + 1])
        has_more = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        for event in page:
            event.record_url = _record_url(self.request.user, event)
        query = self.request.GET.copy()
        query.pop("before", None)
        head = AuditHead.objects.filter(pk=1).first()
        context.update(
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
