"""No lost updates: an edit form carries the version it was loaded from.

A record's version is the id of its newest history row: every save writes one. Saving checks,
with the row locked, that the version is still the one the form was loaded from; if someone
saved in between, the save is refused (HTTP 409) and the page shows what they changed, taken
from the audit trail, with the reader's own edits kept in the form. Saving again after reading
that is a deliberate overwrite, against the new version.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpResponse

from riskreg.audit.models import AuditEvent

CONFLICT = "Someone else saved this record after you opened it; nothing of yours was saved yet. " \
           "Their changes are listed below. Check your edits against them, then save again."  # fmt: skip


def current_version(instance) -> int:
    return instance.history.order_by("-history_id").values_list("history_id", flat=True).first() or 0


def changes_since(instance, version: int) -> list[dict]:
    """What was saved after `version`, event by event: who, when, and each field's old and new value."""
    events = AuditEvent.objects.filter(
        model=instance._meta.label, object_id=str(instance.pk), history_id__gt=version
    ).order_by("seq")
    fields = {field.attname: field.verbose_name for field in instance._meta.get_fields() if hasattr(field, "attname")}
    return [
        {
            "user": event.username or "—", "at": event.at,
            "fields": [(fields.get(name, name), change.get("old"), change.get("new"))
                       for name, change in sorted(event.changes.items())],
        }
        for event in events
    ]  # fmt: skip


class VersionedUpdateMixin:
    """For UpdateViews; list it before SuccessMessageMixin, so a refused save says no 'saved'."""

    # What the UpdateView it is mixed into provides.
    object: Any
    get_context_data: Callable[..., dict]
    render_to_response: Callable[..., HttpResponse]

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
        if not form.is_bound:
            form.initial["version"] = current_version(self.object)
        return form

    def form_valid(self, form):
        locked = type(self.object)._default_manager.select_for_update().get(pk=self.object.pk)
        current = current_version(locked)
        loaded = form.cleaned_data.get("version")
        if loaded != current:
            return self.conflict(form, loaded or 0, current)
        return super().form_valid(form)

    def conflict(self, form, loaded: int, current: int):
        form.data = form.data.copy()
        form.data["version"] = current  # saving again is a choice made knowing the newer version
        form.add_error(None, CONFLICT)
        context = self.get_context_data(form=form, conflict=changes_since(self.object, loaded))
        response = self.render_to_response(context)
        response.status_code = 409
        return response
