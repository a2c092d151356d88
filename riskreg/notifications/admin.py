from django.contrib import admin

from riskreg.admin import RegistryAdmin

from .models import MailPreference, Notification


class ReadOnlyAdmin(RegistryAdmin):
    """Seen, never written here: the outbox is written by the changes that cause mail, a preference by
    its user on their settings page."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "address", "subject", "sent_at", "attempts"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["address", "subject"]


@admin.register(MailPreference)
class MailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "send_mail"]
