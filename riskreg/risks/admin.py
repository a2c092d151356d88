from django.contrib import admin

from riskreg.lib.admin import RegistryAdmin

from .models import Risk


@admin.register(Risk)
class RiskAdmin(RegistryAdmin):
    list_display = ["code", "title", "category", "residual_likelihood", "residual_impact", "status"]
    list_filter = ["category", "status", "treatment"]
    search_fields = ["code", "title", "description"]
    filter_horizontal = ["evaluations"]
