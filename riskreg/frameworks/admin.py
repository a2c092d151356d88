from django.contrib import admin

from riskreg.lib.admin import RegistryAdmin

from .models import Coverage, Framework, FrameworkVersion, GovernanceTitle, ThreatCategory, Threshold


@admin.register(ThreatCategory)
class ThreatCategoryAdmin(RegistryAdmin):
    list_display = ["name", "slug", "order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(GovernanceTitle)
class GovernanceTitleAdmin(RegistryAdmin):
    list_display = ["name"]
    filter_horizontal = ["holders"]


@admin.register(Framework)
class FrameworkAdmin(RegistryAdmin):
    list_display = ["name", "developer", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class FrozenVersionPartInline:
    """A frozen version's coverage and thresholds are shown, never offered for change or delete."""

    extra = 0

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.is_frozen

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


class CoverageInline(FrozenVersionPartInline, admin.TabularInline):
    model = Coverage


class ThresholdInline(FrozenVersionPartInline, admin.StackedInline):
    model = Threshold


@admin.register(FrameworkVersion)
class FrameworkVersionAdmin(RegistryAdmin):
    list_display = ["__str__", "effective_date", "source_mark"]
    list_filter = ["framework"]
    filter_horizontal = ["required_titles"]
    inlines = [CoverageInline, ThresholdInline]

    def has_change_permission(self, request, obj=None):
        return not (obj is not None and obj.is_frozen) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and obj.is_frozen) and super().has_delete_permission(request, obj)


class VersionPartAdmin(RegistryAdmin):
    """Coverage and thresholds of a frozen version: read-only here as in the model."""

    def has_change_permission(self, request, obj=None):
        frozen = obj is not None and obj.framework_version.is_frozen
        return not frozen and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        frozen = obj is not None and obj.framework_version.is_frozen
        return not frozen and super().has_delete_permission(request, obj)


@admin.register(Threshold)
class ThresholdAdmin(VersionPartAdmin):
    list_display = ["code", "name", "framework_version", "category", "response_deployment", "response_report"]
    list_filter = ["framework_version", "category"]


@admin.register(Coverage)
class CoverageAdmin(VersionPartAdmin):
    list_display = ["framework_version", "category", "level"]
    list_filter = ["framework_version", "level", "category"]
