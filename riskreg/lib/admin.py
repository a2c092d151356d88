"""The base of every admin in riskreg: the admin is a window, not a back door (issue 12).

It shows each record and its history; it never becomes a way around what the models refuse:

- simple-history's history form view never writes. In django-simple-history 3.13 the setting
  SIMPLE_HISTORY_REVERT_DISABLED only hides the "Revert" button: a POST to
  /admin/<app>/<model>/<id>/history/<history_id>/ still saves the old version, after checking view
  permission alone. Here that POST is refused for every model and every user, superusers included.
- A model that guards its own delete() loses the "Delete selected" action, which deletes through the
  queryset, around that guard; such records are deleted one at a time, from their own page.
- A save or delete the model refuses shows its reason on the page instead of a server error.

Every list of records that carry a source says where each row comes from, as every other output does
(issue 28): a "Source (§ · how sure)" column, from riskreg.provenance, with the values that are riskreg's
reading named beside it; `with_reading` marks such a value in its own column.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from riskreg import provenance
from riskreg.sources import Sourced

SOURCE_COLUMN = "source_column"


def _reading_marker(words: str, before: str = " "):
    return format_html('{}<span class="reading" title="{}">{}</span>', before, provenance.READING_TITLE, words)


@admin.display(description="Source (§ · how sure)", ordering="source_section")
def source_column(obj):
    """Where the row comes from (§section · how sure, or its origin), and which of its values are riskreg's
    reading. Reads only the row's own fields: no query a row."""
    prov = provenance.of(obj)
    css = f"prov prov-{prov.origin}" + (f" mark-{prov.mark}" if prov.mark else "")
    readings = _reading_marker(prov.readings_text, "; ") if prov.readings else ""
    return format_html('<span class="{}" title="{}">{}</span>{}', css, prov.note or prov.text, prov.short, readings)


def with_reading(field: str, description: str, reading: str | None = None):
    """A list column showing `field` in words, marked "riskreg's reading" where the row's provenance says it
    is (`reading`: its name in riskreg.provenance.READINGS, by default the field's name)."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        # The model's own words where it has them (Evaluation.outcome_label: in its threshold's words), else the
        # choice's label.
        words = getattr(type(obj), f"{field}_label", None)
        display = getattr(obj, f"get_{field}_display", None)
        value = getattr(obj, f"{field}_label") if words is not None else display() if display else getattr(obj, field)
        marked = provenance.of(obj).reads(reading or field)
        return format_html("{}{}", value, _reading_marker(provenance.READING) if marked else "")

    column.__name__ = f"{field}_with_reading"
    return column


def guards_its_delete(model) -> bool:
    """True when the model overrides delete(), to refuse it in some state."""
    return model.delete is not models.Model.delete


class RegistryAdmin(SimpleHistoryAdmin):
    def get_list_display(self, request):
        # Every sourced model's list carries the source column, where its admin places it or else last.
        columns = list(super().get_list_display(request))
        if issubclass(self.model, Sourced) and SOURCE_COLUMN not in columns:
            columns.append(SOURCE_COLUMN)
        return columns

    source_column = staticmethod(source_column)

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
