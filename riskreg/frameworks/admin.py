from django.contrib import admin

from riskreg.admin import RegistryAdmin

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


class CoverageInline(admin.TabularInline):
    model = Coverage
    extra = 0


class ThresholdInline(admin.StackedInline):
    model = Threshold
    extra = 0


@admin.register(FrameworkVersion)
class FrameworkVersionAdmin(RegistryAdmin):
    list_display = ["__str__", "effective_date", "source_mark"]
    list_filter = ["framework"]
    filter_horizontal = ["required_titles"]
    inlines = [CoverageInline, ThresholdInline]


@admin.register(Threshold)
class ThresholdAdmin(RegistryAdmin):
    list_display = ["code", "name", "framework_version", "category", "response_deployment", "response_report"]
    list_filter = ["framework_version", "category"]


@admin.register(Coverage)
class CoverageAdmin(RegistryAdmin):
    list_display = ["framework_version", "category", "level"]
    list_filter = ["framework_version", "level", "category"]
