"""Streaming exports of the audit trail: CSV for people, JSON Lines for the offline verifier.

Rows are read in chunks through a server-side cursor and written one at a time, so memory stays
flat however many events there are.
"""

import csv
import json

from .models import Action

FIELDS = [
    "seq", "at", "user_id", "username", "action", "model", "object_id", "object_repr",
    "history_id", "reason", "changes", "record_sha256", "prev_hash", "hash",
]  # fmt: skip
CSV_HEADER = [
    "seq", "time", "user", "action", "model", "object_id", "object", "reason", "changes", "prev_hash", "hash",
]  # fmt: skip
ACTION_WORDS = {Action.CREATED: "created", Action.CHANGED: "changed", Action.DELETED: "deleted"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (OWASP 'CSV injection')."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _rows(queryset, chunk_size=5000):
    return queryset.order_by("seq").values_list(*FIELDS).iterator(chunk_size=chunk_size)


class Echo:
    """A file-like object that hands back what csv.writer writes, so rows can be streamed."""

    def write(self, value):
        return value


def csv_lines(queryset):
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_HEADER)
    for (
        seq,
        at,
        _user_id,
        username,
        action,
        model,
        object_id,
        object_repr,
        _history_id,
        reason,
        changes,
        _record,
        prev_hash,
        hash_,
    ) in _rows(queryset):  # noqa: E501
        yield writer.writerow(
            [
                seq,
                at.isoformat(),
                escape_formula(username),
                ACTION_WORDS[action],
                escape_formula(model),
                escape_formula(object_id),
                escape_formula(object_repr),
                escape_formula(reason),
                escape_formula(json.dumps(changes, ensure_ascii=False, sort_keys=True)),
                prev_hash,
                hash_,
            ]
        )


def jsonl_lines(queryset):
    """One event a line: the document the hash covers, plus prev_hash and hash."""
    for row in _rows(queryset):
        document = dict(zip(FIELDS, row, strict=True))
        document["at"] = document["at"].isoformat()
        yield json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
