from django.contrib import admin

from riskreg.lib.admin import SOURCE_COLUMN, ReadOnlyAdmin, RegistryAdmin, with_reading

from .models import Affirmation, Determination, GapAcknowledgement, ReleaseDecision, ReviewCondition, SignOff


class FrozenWhenApprovedMixin:
    """A decision beyond a draft, and its parts, are read-only in the admin too (the models and, on
    PostgreSQL, the triggers refuse the change anyway; here it is not offered)."""

    def _decision_of(self, obj):
        return obj if isinstance(obj, ReleaseDecision) else getattr(obj, "decision", None)

    def _beyond_draft(self, obj) -> bool:
        decision = self._decision_of(obj) if obj else None
        return decision is not None and not decision.is_draft

    def has_change_permission(self, request, obj=None):
        return not self._beyond_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._beyond_draft(obj) and super().has_delete_permission(request, obj)


@admin.register(ReleaseDecision)
class ReleaseDecisionAdmin(FrozenWhenApprovedMixin, RegistryAdmin):
    list_display = ["__str__", "snapshot", "scope", "status", "effective_date", SOURCE_COLUMN]
    list_filter = ["status", "scope", "framework_version"]
    list_select_related = ["snapshot__model"]
    search_fields = ["title", "rationale", "reference"]
    # Status, provenance and author move only through the lifecycle steps (decisions/lifecycle.py).
    readonly_fields = ["status", "provenance", "author", "supersedes", "revises"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(Determination)
class DeterminationAdmin(FrozenWhenApprovedMixin, RegistryAdmin):
    list_display = ["decision", "category", "verdict_column", "confidence_column", SOURCE_COLUMN]
    list_filter = ["verdict", "category"]
    # The threshold names the verdict in its own words (verdict_label): read with the row, not once a row.
    list_select_related = ["decision", "category", "threshold"]
    filter_horizontal = ["cited_evaluations"]
    confidence_column = staticmethod(with_reading("confidence", "Confidence"))

    @admin.display(description="Verdict", ordering="verdict")
    def verdict_column(self, obj):
        return obj.verdict_label


@admin.register(ReviewCondition)
class ReviewConditionAdmin(FrozenWhenApprovedMixin, RegistryAdmin):
    list_display = ["decision", "rule", "text"]
    list_filter = ["rule"]


@admin.register(GapAcknowledgement)
class GapAcknowledgementAdmin(FrozenWhenApprovedMixin, RegistryAdmin):
    list_display = ["decision", "category", "acknowledged_by"]
    # Whoever acknowledges is recorded, never chosen: naming another user would forge the record
    # and make them an author, barred from signing.
    readonly_fields = ["acknowledged_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.acknowledged_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Affirmation)
class AffirmationAdmin(ReadOnlyAdmin):
    """Written by the lifecycle steps only."""

    list_display = ["decision", "kind", "digest", "affirmed_at"]


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    """Sign-offs are made on the decision page, where separation of duties is checked."""

    list_display = ["decision", "signer", "title", "verdict", "signed_at"]
