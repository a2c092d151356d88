from django.contrib import admin

from riskreg.lib.admin import SOURCE_COLUMN, RegistryAdmin

from .models import Risk


@admin.register(Risk)
class RiskAdmin(RegistryAdmin):
    # The source column names the scores, status and owner as riskreg's reading where the risk is recorded.
    list_display = ["code", "title", "category", "residual_likelihood", "residual_impact", "status", SOURCE_COLUMN]
    list_select_related = ["category"]
    list_filter = ["category", "status", "treatment"]
    search_fields = ["code", "title", "description"]
    filter_horizontal = ["evaluations"]
