from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import AIModel, Evaluation, Evidence, ImportedRun, Snapshot


@admin.register(AIModel)
class AIModelAdmin(SimpleHistoryAdmin):
    list_display = ["name", "developer", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Snapshot)
class SnapshotAdmin(SimpleHistoryAdmin):
    list_display = ["name", "model", "kind", "available_from"]
    list_filter = ["model", "kind"]


@admin.register(Evaluation)
class EvaluationAdmin(SimpleHistoryAdmin):
    list_display = ["title", "snapshot", "category", "kind", "outcome", "source_section"]
    list_filter = ["snapshot__model", "category", "kind", "outcome", "is_external"]
    search_fields = ["title", "finding", "run_by"]
    list_select_related = ["snapshot__model", "category"]
    raw_id_fields = ["snapshot", "threshold", "recorded_by"]


@admin.register(ImportedRun)
class ImportedRunAdmin(SimpleHistoryAdmin):
    """Written by the importer only."""

    list_display = ["task", "model", "status", "eval_id", "imported_at"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in ImportedRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Evidence)
class EvidenceAdmin(SimpleHistoryAdmin):
    """Evidence is never edited in place: a correction is a new piece that replaces the old one."""

    list_display = ["title", "evaluation", "kind", "sha256", "added_at"]
    list_filter = ["kind"]
    raw_id_fields = ["evaluation", "replaces", "added_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
