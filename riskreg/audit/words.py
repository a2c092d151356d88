"""The trail in words (issue 17): each event names its record by kind and label, its user by name, its
fields by their labels, and the records its related ids point to — for a page of events in a fixed
number of queries (one per kind of related record), never one per event.
"""

import datetime
from collections import defaultdict

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils.text import capfirst

from riskreg.lib.dates import day, day_and_time

from .models import AuditEvent

LONG = 160  # characters of a value shown before it is cut


def _model(label):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _field(model, name):
    if model is None:
        return None
    for candidate in (name, name.removesuffix("_id")):
        try:
            return model._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
    return None


def _position(model, name: str) -> int:
    if model is None:
        return 0
    names = [f.name for f in model._meta.get_fields()] + [getattr(f, "attname", "") for f in model._meta.get_fields()]
    base = name.removesuffix("_id")
    for candidate in (name, base):
        if candidate in names:
            return names.index(candidate) % (len(names) // 2 or 1)
    return len(names)


def _ids(value) -> list:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, (int, str)) and str(v).isdigit()]


def describe(events) -> list:
    """Set on each event: `kind`, `label`, `by` (the user's name) and `words`, a list of
    (field label, before, after) in words. Returns the events."""
    events = list(events)
    wanted: dict = defaultdict(set)
    for event in events:
        model = _model(event.model)
        event.kind = capfirst(model._meta.verbose_name) if model else event.model
        repr_ = event.object_repr or f"#{event.object_id}"
        event.label = repr_ if repr_.lower().startswith(event.kind.lower()) else f"{event.kind} {repr_}"
        event._fields = []
        # In the model's own field order: PostgreSQL's jsonb keeps keys in its own order, not the record's.
        for name, change in sorted((event.changes or {}).items(), key=lambda item: _position(model, item[0])):
            field = _field(model, name)
            if name == "id" or (field is not None and field.primary_key):
                continue
            target = field.related_model if field is not None and field.is_relation else None
            if target is not None:
                for side in ("old", "new"):
                    wanted[target].update(int(v) for v in _ids((change or {}).get(side)))
            label = capfirst(str(field.verbose_name)) if field is not None else capfirst(name.replace("_", " "))
            event._fields.append((label, field, target, change or {}))
    thresholds_at = _thresholds_of_determinations(events, wanted)
    # One query per kind of related record; select_related() reads what their labels name (a snapshot's model).
    records = {model: model._default_manager.select_related().in_bulk(list(ids))
               for model, ids in wanted.items() if ids}  # fmt: skip
    names = {model: {pk: _name(obj) for pk, obj in objs.items()} for model, objs in records.items()}
    users = {u.pk: (u.get_full_name() or u.get_username()) for u in
             get_user_model().objects.filter(pk__in={e.user_id for e in events if e.user_id})}  # fmt: skip
    for event in events:
        event.by = users.get(event.user_id) or event.username or "the system"
        event.words = []
        for label, field, target, change in event._fields:
            old, new = _say(change.get("old"), field, target, names), _say(change.get("new"), field, target, names)
            if event.seq in thresholds_at and field is not None and field.name == "verdict":
                old, new = (_in_threshold_words(change.get(side), thresholds_at[event.seq][side], records, said)
                            for side, said in (("old", old), ("new", new)))  # fmt: skip
            event.words.append((label, old, new))
        del event._fields
    return events


def _thresholds_of_determinations(events, wanted) -> dict:
    """{event seq: {"old": threshold id, "new": threshold id}} for the events that change a determination's
    verdict, so that the verdict reads in its threshold's own words (issue 28: TM1's "Applicable", not
    "Crossed"). The threshold is the one the event names, else the one its history row holds: one query a page,
    and the thresholds join `wanted`, read with the other related records."""
    determination = apps.get_model("decisions", "Determination")
    verdicts = [e for e in events if e.model == determination._meta.label and "verdict" in (e.changes or {})]
    if not verdicts:
        return {}
    held = dict(determination.history.filter(history_id__in=[e.history_id for e in verdicts])
                .values_list("history_id", "threshold_id"))  # fmt: skip
    at = {}
    for event in verdicts:
        named = event.changes.get("threshold_id")
        now = held.get(event.history_id)
        at[event.seq] = {side: (named or {}).get(side) if named else now for side in ("old", "new")}
    wanted[apps.get_model("frameworks", "Threshold")].update(
        int(t) for sides in at.values() for t in _ids(list(sides.values())))  # fmt: skip
    return at


def _in_threshold_words(verdict, threshold_id, records, said: str) -> str:
    """A verdict as its threshold words it (RSP v3.0 TM1: "Applicable"), else as `said` (the choice's label)."""
    thresholds = records.get(apps.get_model("frameworks", "Threshold"), {})
    threshold = thresholds.get(int(threshold_id)) if _ids(threshold_id) else None
    term = threshold.verdict_term(verdict) if threshold is not None and isinstance(verdict, str) else ""
    return term or said


def _name(obj) -> str:
    """A record's label; a person by their name, as the trail's "by" says it."""
    if isinstance(obj, get_user_model()):
        return obj.get_full_name() or obj.get_username()
    return str(obj)


def _say(value, field, target, names) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if target is not None:
        labels = [names.get(target, {}).get(int(v), f"{target._meta.verbose_name} #{v} (gone)") for v in _ids(value)]
        return "; ".join(labels) if labels else "—"
    if field is not None and getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and isinstance(field, (models.DateTimeField, models.DateField)):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        return day_and_time(moment) + " UTC" if isinstance(field, models.DateTimeField) else day(moment)
    if isinstance(value, dict):
        return f"a document of {len(value)} parts (in the export)"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= LONG else text[: LONG - 1] + "…"


def events_about(record, parts: dict[str, str]):
    """Every event about `record` and its parts (`{"app.Model": "foreign key to record"}`), oldest first,
    parts removed since included (their history still names the record)."""
    about = Q(model=record._meta.label, object_id=str(record.pk))
    for label, key in parts.items():
        model = apps.get_model(label)
        ids = {str(pk) for pk in model.history.filter(**{f"{key}_id": record.pk}).values_list("id", flat=True)}
        if ids:
            about |= Q(model=label, object_id__in=ids)
    return AuditEvent.objects.filter(about).order_by("seq")
