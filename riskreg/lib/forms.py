"""Form helpers shared by every app."""

from html import escape

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe

ID_MAX = 2**63 - 1  # the largest id a bigint column holds


def size_in_words(count: float) -> str:
    """A byte count as every page, message and the README state it: 1 MB = 1,048,576 bytes (so the
    default 26,214,400-byte evidence limit reads “25 MB” everywhere)."""
    if count >= 2**20:
        return f"{count / 2**20:,.0f} MB"
    return f"{count / 2**10:,.0f} KB"


def id_in_range(text) -> bool:
    """False for a whole number no id column can hold (SQLite would raise on it in an IN list)."""
    text = str(text).strip()
    try:
        return abs(int(text)) <= ID_MAX
    except ValueError:
        return True  # not a number: the field's own validation answers it


def bound_choice_fields(form: forms.BaseForm) -> None:
    """Make each multiple model-choice field refuse an out-of-range id as an invalid choice, not a server error.

    Django answers an out-of-range id in a single choice itself (its exact, lt, gt lookups on an integer
    field never send one: IntegerFieldOverflow), but a multiple choice asks `pk__in`, which has no such
    check: SQLite raises OverflowError on an id beyond 64 bits (tests/test_huge_ids.py).
    """
    for field in form.fields.values():
        if isinstance(field, forms.ModelMultipleChoiceField):
            field.clean = _bounded(field, field.clean)  # type: ignore[method-assign]  # this field's clean, wrapped


def _bounded(field, clean):
    def bounded_clean(value):
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item not in (None, "") and not id_in_range(item):
                raise ValidationError(field.error_messages["invalid_choice"], code="invalid_choice",
                                      params={"value": str(item)[:40]})  # fmt: skip
        return clean(value)

    return bounded_clean


class BoundedChoicesMixin:
    """For forms and filter forms: see bound_choice_fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_choice_fields(self)


class ListedChoiceIterator(forms.models.ModelChoiceIterator):
    """Reads a model-choice field's options in one plain query. Django's own iterator reads them through
    `.iterator()`, which on PostgreSQL opens a server-side cursor: four round trips for a short list, on
    every list page (issue 20's profile of the evaluations page)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListSelect(forms.Select):
    """A drop-down whose options are joined in Python. Django's Select builds a dict of attributes and
    renders a template for each option: on a list page the filters' options took 60% of the time (issue 20).
    Each value and label is escaped as Django's escape() does (it is html.escape), attributes by flatatt."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]  # without Django's optgroups
        chosen = set(widget["value"])
        options = "".join(
            f'<option value="{escape(text)}"{" selected" if text in chosen else ""}>{escape(str(label))}</option>'
            for text, label in (("" if key is None else str(key), label) for key, label in self.choices)
        )
        return mark_safe(f'<select name="{escape(name)}"{flatatt(widget["attrs"])}>{options}</select>')


class FilterForm(BoundedChoicesMixin, forms.Form):
    """The form class of every FilterSet (Meta.form): its drop-downs are ListSelects, their options read
    in one plain query each."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = ListSelect(attrs=field.widget.attrs, choices=field.widget.choices)
            if isinstance(field, forms.ModelChoiceField):
                field.iterator = ListedChoiceIterator
                field.queryset = field.queryset  # gives the widget choices from the new iterator
