from django.contrib import admin

from riskreg.lib.admin import ReadOnlyAdmin, RegistryAdmin

from .forms import IncidentForm
from .models import CodeRiskMapping, Filing, Incident, IncidentReport


@admin.register(Incident)
class IncidentAdmin(RegistryAdmin):
    form = IncidentForm
    list_display = ["reference", "title", "model", "aware_at", "resolved_at"]
    search_fields = ["title", "statement"]
    filter_horizontal = ["evaluations", "risks", "decisions"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(IncidentReport)
class IncidentReportAdmin(ReadOnlyAdmin):
    """Reports once sent never change: recorded on the incident's page, read here."""

    list_display = ["incident", "regime", "kind", "sent_at", "sent_to"]


@admin.register(Filing)
class FilingAdmin(ReadOnlyAdmin):
    """Issued reports never change: issued from the decision's page, read here."""

    list_display = ["decision", "kind", "version", "interim", "issued_at"]


@admin.register(CodeRiskMapping)
class CodeRiskMappingAdmin(RegistryAdmin):
    list_display = ["framework_version", "systemic_risk", "category", "source_section"]
    list_filter = ["framework_version", "systemic_risk"]
