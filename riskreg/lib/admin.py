"""The base of every admin in riskreg: the admin is a window, not a back door (issue 12).

It shows each record and its history; it never becomes a way around what the models refuse:

- simple-history's history form view never writes. In django-simple-history 3.13 the setting
  SIMPLE_HISTORY_REVERT_DISABLED only hides the "Revert" button: a POST to
  /admin/<app>/<model>/<id>/history/<history_id>/ still saves the old version, after checking view
  permission alone. Here that POST is refused for every model and every user, superusers included.
- A model that guards its own delete() loses the "Delete selected" action, which deletes through the
  queryset, around that guard; such records are deleted one at a time, from their own page.
- A save or delete the model refuses shows its reason on the page instead of a server error.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin


def guards_its_delete(model) -> bool:
    """True when the model overrides delete(), to refuse it in some state."""
    return model.delete is not models.Model.delete


class RegistryAdmin(SimpleHistoryAdmin):
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A save the model refuses (a frozen version, a part of a decision beyond a draft, a cited
        # evaluation without a reason) rolls back with the admin's transaction and is shown as a
        # message on the form's page, not as a server error.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            if request.method != "POST":
                raise
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("The admin shows past versions; it never restores one.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    def get_actions(self, request):
        actions = super().get_actions(request)
        if guards_its_delete(self.model):
            actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as refusal:
            self.message_user(request, " ".join(refusal.messages), messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change",
                    args=[object_id],
                    current_app=self.admin_site.name,
                )  # fmt: skip
            )


class ReadOnlyAdmin(RegistryAdmin):
    """Seen, never written here: records that only their own steps write (sign-offs, affirmations,
    evidence, the mail outbox, …)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
