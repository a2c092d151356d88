"""Appending to the audit chain, and checking the chain in the database.

Every history record that django-simple-history writes is followed, in the same transaction, by
one AuditEvent (see apps.py for the signal). Bulk writes go through `bulk_create_with_history`
below, which appends the events of the whole batch under one lock.

A data migration that writes tracked rows must do it through the real models (or the bulk helper
here), never through `apps.get_model()`, which has no history: the trail would have a hole.
"""

import datetime
import decimal
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Max, Model, QuerySet
from django.db.models.fields.files import FieldFile
from simple_history import utils as history_utils

from .live import check_live_rows
from .models import GENESIS_HASH, Action, AuditEvent, AuditHead
from .verify import NoteError, TreeBuilder, canonical_json, event_hash

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A row of a simple_history historical model: those classes are made at run time, so mypy knows none of them.
HistoryRow = Any


def jsonable(value: object) -> Any:
    """A field value as plain JSON (dates as ISO text, decimals as text, files as their name)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return str(value)


def model_label(history_instance: HistoryRow) -> str:
    return history_instance.instance_type._meta.label


def _m2m_ids(history_instance: HistoryRow) -> dict[str, list]:
    if hasattr(history_instance, "_audit_m2m"):  # read for a whole batch: _attach_m2m
        return dict(history_instance._audit_m2m)
    values: dict[str, list] = {}
    for field in history_instance._history_m2m_fields:
        target = history_utils.get_m2m_reverse_field_name(field)
        rows = getattr(history_instance, field.name).values_list(f"{target}_id", flat=True)
        values[field.name] = sorted(rows)
    return values


def _attach_m2m(history_instances: list[HistoryRow]) -> None:
    """Read the m2m ids of a batch of history rows in one query per m2m field, not two per row."""
    if not history_instances or not history_instances[0]._history_m2m_fields:
        return
    history_model = type(history_instances[0])
    found: dict[int, dict[str, list]] = {h.history_id: {} for h in history_instances}
    for field in history_model._history_m2m_fields:
        m2m_model = getattr(history_model, field.name).model
        target = history_utils.get_m2m_reverse_field_name(field)
        for values in found.values():
            values[field.name] = []
        rows = m2m_model.objects.filter(history_id__in=list(found)).values_list("history_id", f"{target}_id")
        for history_id, target_id in rows:
            found[history_id][field.name].append(target_id)
    for history_instance in history_instances:
        history_instance._audit_m2m = {name: sorted(ids) for name, ids in found[history_instance.history_id].items()}


def record_snapshot(history_instance: HistoryRow) -> dict:
    """Everything a history row says, as JSON: what the event's record_sha256 covers."""
    values = {
        field.attname: jsonable(getattr(history_instance, field.attname)) for field in history_instance.tracked_fields
    }
    values.update(_m2m_ids(history_instance))
    values["history_type"] = history_instance.history_type
    values["history_date"] = jsonable(history_instance.history_date)
    values["history_user_id"] = history_instance.history_user_id
    values["history_change_reason"] = history_instance.history_change_reason or ""
    return values


def record_sha256(history_instance: HistoryRow) -> str:
    return hashlib.sha256(canonical_json(record_snapshot(history_instance))).hexdigest()


def _previous(history_instance: HistoryRow) -> HistoryRow | None:
    if hasattr(history_instance, "_audit_previous"):  # looked up for a whole batch: _attach_previous
        return history_instance._audit_previous
    pk_name = history_instance.instance_type._meta.pk.attname
    return (
        type(history_instance)
        .objects.filter(**{pk_name: getattr(history_instance, pk_name)}, history_id__lt=history_instance.history_id)
        .order_by("-history_id")
        .first()
    )


def field_changes(history_instance: HistoryRow) -> dict:
    """{field: {"old": …, "new": …}} for what this history record changed."""
    new = {f.attname: jsonable(getattr(history_instance, f.attname)) for f in history_instance.tracked_fields}
    new.update(_m2m_ids(history_instance))
    if history_instance.history_type == Action.CREATED:
        return {name: {"old": None, "new": value} for name, value in new.items() if value not in (None, "", [], {})}
    previous = _previous(history_instance)
    if previous is None:
        old = {}
    else:
        old = {f.attname: jsonable(getattr(previous, f.attname)) for f in previous.tracked_fields}
        old.update(_m2m_ids(previous))
    if history_instance.history_type == Action.DELETED:
        return {name: {"old": value, "new": None} for name, value in new.items() if value not in (None, "", [], {})}
    return {name: {"old": old.get(name), "new": value} for name, value in new.items() if old.get(name) != value}


def _attach_previous(history_instances: list[HistoryRow], mark: int) -> None:
    """Each changed row's previous history row (the newest at or before `mark`), for a batch in two queries."""
    changed = [h for h in history_instances if h.history_type != Action.CREATED]
    if not changed:
        return
    history_model = type(changed[0])
    pk_name = changed[0].instance_type._meta.pk.attname
    newest = (
        history_model.objects.filter(**{f"{pk_name}__in": {getattr(h, pk_name) for h in changed}})
        .filter(history_id__lte=mark)
        .values(pk_name)
        .annotate(last=Max("history_id"))
        .values_list("last", flat=True)
    )
    # Two index lookups; as one IN (subquery), PostgreSQL chose to scan the whole history table.
    rows = list(history_model.objects.filter(history_id__in=list(newest)))
    _attach_m2m(rows)
    previous = {getattr(row, pk_name): row for row in rows}
    for history_instance in changed:
        history_instance._audit_previous = previous.get(getattr(history_instance, pk_name))


def _lock_head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # a freshly flushed database (tests); migrations create it otherwise
        head = AuditHead.objects.create(pk=1, seq=0, hash=GENESIS_HASH)
    return head


def append_events(
    history_instances: Iterable[HistoryRow], live_instances: Iterable[Model] | None = None
) -> list[AuditEvent]:
    """Append one event per history record, in order, under the chain head's lock.

    `live_instances`, where the caller has them, name the records without rebuilding each from
    its history row (which may cost a query per related object in __str__).
    """
    rows = list(history_instances)
    names: list[Model | None] = [None] * len(rows) if live_instances is None else list(live_instances)
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("Audit events are appended inside the writing transaction only.")
    head = _lock_head()
    events = []
    for history_instance, live in zip(rows, names, strict=True):
        user = history_instance.history_user
        deleted = history_instance.history_type == Action.DELETED
        event = AuditEvent(
            seq=head.seq + 1,
            at=history_instance.history_date,
            user_id=history_instance.history_user_id,
            username=user.get_username() if user is not None else "",
            action=history_instance.history_type,
            model=model_label(history_instance),
            object_id=str(getattr(history_instance, history_instance.instance_type._meta.pk.attname)),
            object_repr="" if deleted else str(live if live is not None else history_instance.instance)[:200],
            history_id=history_instance.history_id,
            reason=(history_instance.history_change_reason or "")[:200],
            changes=field_changes(history_instance),
            record_sha256=record_sha256(history_instance),
            prev_hash=head.hash,
        )
        event.hash = event_hash(event.prev_hash, event.as_document())
        events.append(event)
        head.seq, head.hash = event.seq, event.hash
    # Plain bulk_create is right here: AuditEvent is the trail itself, not a tracked model.
    AuditEvent.objects.bulk_create(events)
    head.save(update_fields=["seq", "hash"])
    return events


def bulk_create_with_history(
    objs: list[Model], model: type[Model], *, user: "User | None", reason: str = "", batch_size: int = 500
) -> list[Model]:
    """simple-history's bulk_create_with_history, plus the audit events of each batch."""
    history_model = model.history.model  # type: ignore[attr-defined]  # simple_history adds it to tracked models
    pk_name = model._meta.pk.attname
    created: list[Model] = []
    with transaction.atomic():
        for start in range(0, len(objs), batch_size):
            batch = history_utils.bulk_create_with_history(
                objs[start : start + batch_size],
                model,
                batch_size=batch_size,
                default_user=user,
                default_change_reason=reason,
            )
            records = history_model.objects.filter(
                **{f"{pk_name}__in": [obj.pk for obj in batch]}, history_type=Action.CREATED
            )
            _append_batch_events(records, batch, pk_name)
            created.extend(batch)
    return created


def bulk_update_with_history(objs: list[Model], model: type[Model], fields: list[str], *, user: "User | None",
                             reason: str = "", batch_size: int = 500) -> int:  # fmt: skip
    """simple-history's bulk_update_with_history, plus the audit events of each batch."""
    history_model = model.history.model  # type: ignore[attr-defined]  # simple_history adds it to tracked models
    pk_name = model._meta.pk.attname
    with transaction.atomic():
        _lock_head()  # no other tracked write appends between our history rows and their events
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            if len({obj.pk for obj in batch}) != len(batch):
                raise ValueError("Each record at most once per batch: its events are found by its new history rows.")
            mark = history_model.objects.order_by("-history_id").values_list("history_id", flat=True).first() or 0
            history_utils.bulk_update_with_history(
                # Django's CASE … WHEN update grows slow on larger batches.
                batch,
                model,
                fields,
                batch_size=100,
                default_user=user,
                default_change_reason=reason,
            )
            records = history_model.objects.filter(**{f"{pk_name}__in": [obj.pk for obj in batch]}, history_id__gt=mark)
            _append_batch_events(records, batch, pk_name, previous_up_to=mark)
    return len(objs)


def _append_batch_events(
    records: QuerySet, batch: list[Model], pk_name: str, previous_up_to: int | None = None
) -> None:
    """The events of a bulk helper's batch: its m2m ids (and, for changes, previous rows) read at once."""
    rows = list(records.select_related("history_user").order_by("history_id"))
    _attach_m2m(rows)
    if previous_up_to is not None:
        _attach_previous(rows, previous_up_to)
    live = {obj.pk: obj for obj in batch}
    append_events(rows, [live[getattr(row, pk_name)] for row in rows])


def _with_m2m(history_rows: Iterable[HistoryRow], size: int = 2000) -> Iterator[HistoryRow]:
    """History rows with their m2m ids read a chunk at a time (one query per chunk, not per row)."""
    batch: list[HistoryRow] = []
    for row in history_rows:
        batch.append(row)
        if len(batch) == size:
            _attach_m2m(batch)
            yield from batch
            batch = []
    _attach_m2m(batch)
    yield from batch


def _roots_to_check(planted: dict[int, str]) -> dict[int, list[tuple[str, bytes]]]:
    """{tree size: [(what, root)]}: every checkpoint row that verifies against a configured verifier key
    (never a key stored in the row: the app's role may insert rows), and the stored tree's own root at its
    size. A row that does not verify, or repeats an earlier checkpoint, goes to `planted` (row id → why):
    only named, never taken as evidence of a rewrite."""
    from . import signing
    from .merkle import TreeError, root, tree_size, trusted
    from .models import AuditCheckpoint

    roots: dict[int, list[tuple[str, bytes]]] = {}
    seen: dict[str, int] = {}
    rejected: dict[str, str] = {}  # note → why it is not trusted: a planted copy costs no second signature check
    rows = AuditCheckpoint.objects.order_by("id")
    keys = signing.verifier_keys()
    if not keys and rows.exists():
        message = (f"{rows.count()} checkpoint(s) cannot be checked: no verifier key is configured (set "
                   "AUDIT_SIGNING_KEY to the key file, or AUDIT_VERIFIER_KEY to the published key)")  # fmt: skip
        roots[-1] = [(message, b"")]
        rows = rows.none()
    for checkpoint in rows.iterator():
        name = f"signed checkpoint {checkpoint.pk}"
        try:
            if checkpoint.note in rejected:
                raise NoteError(rejected[checkpoint.note])
            size, signed_root = trusted(checkpoint, keys)
        except NoteError as error:
            if "columns" not in str(error):  # the same note is refused for the same reason whatever its row
                rejected[checkpoint.note] = str(error)
            planted[checkpoint.pk] = (f"checkpoint row {checkpoint.pk} is not trusted (planted or altered; not "
                                      f"served, not signed on): {error}")  # fmt: skip
            continue
        if checkpoint.note in seen:
            planted[checkpoint.pk] = (f"checkpoint row {checkpoint.pk} repeats checkpoint {seen[checkpoint.note]} "
                                      "(a copy inserted later; not served as the latest)")  # fmt: skip
            continue
        seen[checkpoint.note] = checkpoint.pk
        roots.setdefault(size, []).append((name, signed_root))
    size = tree_size()
    if size:
        try:
            roots.setdefault(size, []).append(("the stored Merkle tree", root(size)))
        except TreeError as error:
            roots.setdefault(-1, []).append((f"the stored Merkle tree: {error}", b""))
    return roots


def _compare_nodes(computed: dict[int, str], wrong: list[int]) -> None:
    """Stored tree nodes against the ones the events give (`computed`: key → hex hash); adds the keys of
    those that differ to `wrong`. Absent ones are fine (the tree is stored as far as it was signed)."""
    from .models import AuditTreeNode

    keys = sorted(computed)
    for start in range(0, len(keys), 900):
        rows = AuditTreeNode.objects.filter(key__in=keys[start : start + 900]).values_list("key", "hash")
        wrong.extend(key for key, value in rows if value != computed[key])


def _nodes_beyond(size: int) -> list[int]:
    """The keys of tree nodes that no tree of the trail's `size` events holds: planted ahead of time."""
    from django.db.models import Q

    from .merkle import node_key
    from .models import AuditTreeNode

    outside = Q(key__lt=0) | Q(key__gte=node_key(64, 0))
    for height in range(64):
        outside |= Q(key__gte=node_key(height, size >> height), key__lt=node_key(height + 1, 0))
    return list(AuditTreeNode.objects.filter(outside).order_by("key").values_list("key", flat=True).iterator())


class ChainReport:
    def __init__(self) -> None:
        self.count = 0
        self.problems: list[str] = []  # the chain's, the tree's and the live rows' problems, then planted rows'
        self.notes: list[str] = []  # what was found and acknowledged (AUDIT_ACKNOWLEDGED_PLANTED)
        self.acknowledge_with = ""  # an AUDIT_ACKNOWLEDGED_PLANTED value naming what is planted now

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_database(limit_problems: int = 20) -> ChainReport:
    """Check the chain in the database and that every history row still matches its event.

    Finds: an edited event (hash), a removed, inserted or reordered one (sequence and links),
    a head that does not match the last event, an edited or removed history row (record hash),
    history rows with no event (written around the audit trail), and live rows written around
    history altogether (live.py): the first `limit_problems` of the chain and tree, and as many of
    the live rows, each listed. Then checkpoint rows and tree nodes the app's role planted, in a
    bounded summary of their own (planted.py) that never crowds out the others, less those the
    operator acknowledged (AUDIT_ACKNOWLEDGED_PLANTED).
    """
    from django.apps import apps

    from .planted import Planted

    report = ChainReport()

    def problem(text: str) -> None:
        if len(report.problems) < limit_problems:
            report.problems.append(text)

    from .merkle import node_key

    # The Merkle tree (issue 18): each trusted checkpoint's root, the stored tree's and each stored node, rebuilt
    # from the events; checkpoint rows that do not verify against the configured key and planted nodes named.
    planted_rows: dict[int, str] = {}
    roots = _roots_to_check(planted_rows)
    wrong_nodes: list[int] = []
    computed: dict[int, str] = {}  # tree nodes as the events give them, compared with the stored ones in batches
    builder = TreeBuilder(on_node=lambda h, p, value: computed.__setitem__(node_key(h, p), value.hex()))
    previous_seq, previous_hash = 0, GENESIS_HASH
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        builder.append(bytes.fromhex(event.hash) if len(event.hash) == 64 else b"")
        if len(computed) >= 20_000:
            _compare_nodes(computed, wrong_nodes)
            computed.clear()
        for name, expected in roots.pop(builder.size, []):
            if builder.root() != expected:
                problem(f"{name} does not match the events 1–{builder.size} (rewritten since it was made?)")
        report.count += 1
        if event.seq != previous_seq + 1:
            problem(f"event {previous_seq + 1} is missing (next is {event.seq})")
        elif event.prev_hash != previous_hash:
            problem(f"event {event.seq} does not link to event {previous_seq}")
        if event_hash(event.prev_hash, event.as_document()) != event.hash:
            problem(f"event {event.seq} was altered: its hash does not match its content")
        previous_seq, previous_hash = event.seq, event.hash

    _compare_nodes(computed, wrong_nodes)
    planted_nodes = dict.fromkeys(wrong_nodes, "stored tree node(s) are not what the events give (planted before "
                                  "they were written?): they are not signed, and proofs through them are computed "
                                  "from the events")  # fmt: skip
    planted_nodes.update(dict.fromkeys(_nodes_beyond(builder.size), f"tree node(s) lie beyond the trail's "
                                       f"{builder.size} events: planted, not used"))  # fmt: skip
    for size, found in sorted(roots.items()):  # left over: unreadable, or larger than the trail
        for name, _expected in found:
            problem(name if size < 0 else f"{name} covers {size} events, the trail holds {builder.size}")

    head = AuditHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (previous_seq, previous_hash):
        problem(f"the chain head says {head_seq}:{head_hash[:12]}… but the last event is {previous_seq}")

    # Each tracked model's history rows against its events, both in history_id order: a merge,
    # so memory stays flat however long the trail.
    for model in apps.get_models():
        if not hasattr(model._meta, "simple_history_manager_attribute"):
            continue
        label = model._meta.label
        events = (
            AuditEvent.objects.filter(model=label)
            .order_by("history_id")
            .values_list("history_id", "seq", "record_sha256")
            .iterator(chunk_size=2000)
        )
        # simple_history adds `history` to the tracked models: mypy does not see it
        rows = _with_m2m(model.history.order_by("history_id").iterator(chunk_size=2000))  # type: ignore[attr-defined]
        event, row = next(events, None), next(rows, None)
        while event is not None or row is not None:
            if row is None or (event is not None and event[0] < row.history_id):
                # with no row left, the loop's condition says there is an event
                problem(f"history row {label} #{event[0]} (event {event[1]}) was deleted")  # type: ignore[index]
                event = next(events, None)
            elif event is None or row.history_id < event[0]:
                problem(f"history row {label} #{row.history_id} has no audit event")
                row = next(rows, None)
            else:
                if record_sha256(row) != event[2]:
                    problem(f"history row {label} #{row.history_id} (event {event[1]}) was altered")
                event, row = next(events, None), next(rows, None)

    report.problems += [str(mismatch) for mismatch in check_live_rows(limit_problems)]  # a budget of their own
    planted = Planted(planted_rows, planted_nodes)
    report.problems += planted.problems
    report.notes += planted.notes
    report.acknowledge_with = planted.suggestion
    return report
