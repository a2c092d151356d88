from django.contrib import admin

from riskreg.lib.admin import SOURCE_COLUMN, ReadOnlyAdmin, RegistryAdmin, with_reading

from .models import AIModel, Evaluation, Evidence, ImportedRun, Snapshot


@admin.register(AIModel)
class AIModelAdmin(RegistryAdmin):
    list_display = ["name", "developer", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Snapshot)
class SnapshotAdmin(RegistryAdmin):
    list_display = ["name", "id", "model", "kind", "available_from", "model_identifiers"]
    list_filter = ["model", "kind"]


@admin.register(Evaluation)
class EvaluationAdmin(RegistryAdmin):
    list_display = ["title", "snapshot", "category", "kind", "outcome_column", SOURCE_COLUMN]
    list_filter = ["snapshot__model", "category", "kind", "outcome", "is_external"]
    search_fields = ["title", "finding", "run_by"]
    list_select_related = ["snapshot__model", "category", "threshold"]  # the outcome in its threshold's words
    raw_id_fields = ["snapshot", "threshold", "recorded_by"]
    # An imported record's outcome is the import rule's classification: riskreg's reading.
    outcome_column = staticmethod(with_reading("outcome", "Outcome"))

    def has_change_permission(self, request, obj=None):
        # An evaluation a submitted or approved decision cites changes only on its own page, which
        # names those decisions and asks for the reason their signers will read (a save without
        # one is refused by the model). Here it is shown read-only.
        if obj is not None and obj.citing_decisions().exists():
            return False
        return super().has_change_permission(request, obj)


@admin.register(ImportedRun)
class ImportedRunAdmin(RegistryAdmin):
    """Written by the importer only."""

    list_display = ["task", "model", "status", "eval_id", "imported_at"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in ImportedRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    """Evidence is never edited in place: a correction is a new piece that replaces the old one.

    It is added only on the evaluation's page, whose upload form checks the file's type and size,
    computes its size and SHA-256 on the server, records who added it, and asks for a reason when a
    submitted or approved decision cites the evaluation. The admin only shows it.
    """

    list_display = ["title", "evaluation", "kind", "sha256", "added_at"]
    list_filter = ["kind"]
    raw_id_fields = ["evaluation", "replaces", "added_by"]
