from django.contrib import admin

from riskreg.lib.admin import ReadOnlyAdmin

from .models import MailPreference, Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "address", "subject", "sent_at", "attempts"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["address", "subject"]


@admin.register(MailPreference)
class MailPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "send_mail"]
