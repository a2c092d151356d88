from django.contrib import admin

from riskreg.admin import RegistryAdmin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(RegistryAdmin):
    """Tokens are made and revoked by their owners on their settings page; only a hash is stored."""

    list_display = ["name", "user", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "revoked_at"]

    def has_add_permission(self, request):
        return False
