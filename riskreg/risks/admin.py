from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Risk


@admin.register(Risk)
class RiskAdmin(SimpleHistoryAdmin):
    list_display = ["code", "title", "category", "residual_likelihood", "residual_impact", "status"]
    list_filter = ["category", "status", "treatment"]
    search_fields = ["code", "title", "description"]
    filter_horizontal = ["evaluations"]
