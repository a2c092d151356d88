"""Live rows against their newest history rows: what the chain cannot see on its own.

The chain proves that history rows and events were not rewritten. A write that skips both (a raw
UPDATE, INSERT or DELETE on a live table) leaves them intact and the live row different; this
module finds it. For every tracked model:

- each live row equals its newest history row in every tracked field and many-to-many set;
- each live row has a history row, and the newest does not say deleted ("-");
- each history whose newest row is not a deletion still has its live row.

The comparison runs in the database, one query per model (and one per many-to-many field), which
returns only the mismatches: Python holds at most `limit` rows, whatever the size of the tables.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import connection
from simple_history import utils as history_utils

from .models import Action


@dataclass(frozen=True)
class Mismatch:
    model: str
    pk: object
    what: str

    def __str__(self) -> str:
        return f"{self.model} #{self.pk}: {self.what}"


def tracked_models() -> list:
    return [model for model in apps.get_models() if hasattr(model._meta, "simple_history_manager_attribute")]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _differs(left: str, right: str) -> str:
    """A NULL-safe 'not equal' in the database's dialect."""
    operator = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f"{left} {operator} {right}"


def _newest(history_table: str, pk: str) -> str:
    """The newest history row of each record, as a CTE: (pk, history_id)."""
    pk = _q(pk)
    return f"newest AS (SELECT {pk} AS pk, MAX(history_id) AS history_id FROM {_q(history_table)} GROUP BY {pk})"


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def check_model(model, limit: int) -> list[Mismatch]:
    """The first `limit` mismatches between `model`'s live rows and its newest history rows."""
    label = model._meta.label
    history_model = model.history.model
    live, history = _q(model._meta.db_table), _q(history_model._meta.db_table)
    pk = model._meta.pk.column
    columns = [field.column for field in history_model.tracked_fields if field.column != pk]
    names = {field.column: field.attname for field in history_model.tracked_fields}
    flags = ", ".join(f"CASE WHEN {_differs(f'l.{_q(c)}', f'h.{_q(c)}')} THEN 1 ELSE 0 END" for c in columns)
    any_differs = " OR ".join(_differs(f"l.{_q(c)}", f"h.{_q(c)}") for c in columns) or "1 = 0"
    found = []

    rows = _fetch(
        f"WITH {_newest(history_model._meta.db_table, pk)} "
        f"SELECT l.{_q(pk)}, h.history_id, h.history_type{', ' + flags if flags else ''} "
        f"FROM {live} l LEFT JOIN newest n ON n.pk = l.{_q(pk)} LEFT JOIN {history} h ON h.history_id = n.history_id "
        f"WHERE h.history_id IS NULL OR h.history_type = %s OR {any_differs} "
        f"ORDER BY l.{_q(pk)} LIMIT %s",
        [Action.DELETED, limit],
    )
    for row_pk, history_id, history_type, *differs in rows:
        if history_id is None:
            found.append(Mismatch(label, row_pk, "live row with no history row"))
        elif history_type == Action.DELETED:
            found.append(Mismatch(label, row_pk, f"live row exists, but its history row #{history_id} says deleted"))
        else:
            fields = ", ".join(names[c] for c, flag in zip(columns, differs, strict=True) if flag)
            found.append(Mismatch(label, row_pk, f"{fields} differs from its history row #{history_id}"))

    rows = _fetch(
        f"WITH {_newest(history_model._meta.db_table, pk)} "
        f"SELECT n.pk, n.history_id FROM newest n JOIN {history} h ON h.history_id = n.history_id "
        f"WHERE h.history_type <> %s AND NOT EXISTS (SELECT 1 FROM {live} l WHERE l.{_q(pk)} = n.pk) "
        f"ORDER BY n.pk LIMIT %s",
        [Action.DELETED, limit],
    )
    found += [Mismatch(label, row_pk, f"deleted with no history row (newest is #{hid})") for row_pk, hid in rows]

    for field in history_model._history_m2m_fields:
        found += _check_m2m(model, field, limit)
    return found[:limit]


def _check_m2m(model, field, limit: int) -> list[Mismatch]:
    """Pairs in the live many-to-many table and not in the newest history row's, and the reverse."""
    history_model = model.history.model
    through = field.remote_field.through
    m2m_history = getattr(history_model, field.name).model
    source = through._meta.get_field(history_utils.get_m2m_field_name(field)).column
    target = through._meta.get_field(history_utils.get_m2m_reverse_field_name(field)).column
    t, hm, h = _q(through._meta.db_table), _q(m2m_history._meta.db_table), _q(history_model._meta.db_table)
    s, g = _q(source), _q(target)
    rows = _fetch(
        f"WITH {_newest(history_model._meta.db_table, model._meta.pk.column)} "
        f"SELECT t.{s}, t.{g}, 1 FROM {t} t WHERE NOT EXISTS ("
        f"  SELECT 1 FROM newest n JOIN {hm} hm ON hm.history_id = n.history_id WHERE n.pk = t.{s} AND hm.{g} = t.{g}) "
        f"UNION ALL "
        f"SELECT n.pk, hm.{g}, 0 FROM newest n JOIN {h} h ON h.history_id = n.history_id "
        f"JOIN {hm} hm ON hm.history_id = n.history_id "
        f"WHERE h.history_type <> %s AND NOT EXISTS (SELECT 1 FROM {t} t WHERE t.{s} = n.pk AND t.{g} = hm.{g}) "
        f"ORDER BY 1, 2 LIMIT %s",
        [Action.DELETED, limit],
    )
    return [
        Mismatch(
            model._meta.label,
            row_pk,
            f"{field.name} {'has' if live else 'lacks'} {target_pk}, "
            f"{'not in' if live else 'unlike'} its newest history row",
        )
        for row_pk, target_pk, live in rows
    ]


def check_live_rows(limit: int = 20) -> list[Mismatch]:
    """The first `limit` mismatches over every tracked model."""
    found: list[Mismatch] = []
    for model in tracked_models():
        if len(found) >= limit:
            break
        found += check_model(model, limit - len(found))
    return found
