from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Affirmation, Determination, GapAcknowledgement, ReleaseDecision, SignOff


class FrozenWhenApprovedMixin:
    """Approved decisions cannot be edited through the admin either (the models refuse it too)."""

    def _decision_of(self, obj):
        return obj if isinstance(obj, ReleaseDecision) else getattr(obj, "decision", None)

    def has_change_permission(self, request, obj=None):
        decision = self._decision_of(obj) if obj else None
        if decision is not None and decision.is_frozen:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        decision = self._decision_of(obj) if obj else None
        if decision is not None and decision.is_frozen:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # "Delete selected" deletes through the queryset, around each record's own refusal to go
        # while its decision is approved: records are deleted one at a time, from their own page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(ReleaseDecision)
class ReleaseDecisionAdmin(FrozenWhenApprovedMixin, SimpleHistoryAdmin):
    list_display = ["__str__", "snapshot", "scope", "status", "effective_date"]
    list_filter = ["status", "scope", "framework_version"]
    search_fields = ["title", "rationale", "reference"]
    # Status, provenance and author move only through the lifecycle steps (decisions/lifecycle.py).
    readonly_fields = ["status", "provenance", "author", "supersedes"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(Determination)
class DeterminationAdmin(FrozenWhenApprovedMixin, SimpleHistoryAdmin):
    list_display = ["decision", "category", "verdict", "confidence"]
    list_filter = ["verdict", "category"]
    filter_horizontal = ["cited_evaluations"]


@admin.register(GapAcknowledgement)
class GapAcknowledgementAdmin(FrozenWhenApprovedMixin, SimpleHistoryAdmin):
    list_display = ["decision", "category", "acknowledged_by"]


@admin.register(Affirmation)
class AffirmationAdmin(SimpleHistoryAdmin):
    """Written by the lifecycle steps only."""

    list_display = ["decision", "kind", "digest", "affirmed_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SignOff)
class SignOffAdmin(SimpleHistoryAdmin):
    """Sign-offs are made on the decision page, where separation of duties is checked."""

    list_display = ["decision", "signer", "title", "verdict", "signed_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
