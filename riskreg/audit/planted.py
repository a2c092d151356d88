"""Checkpoint rows and tree nodes the app's role planted (issue 27): named apart, and acknowledged in configuration.

The app's database role may INSERT rows into the checkpoint and tree tables and can never remove them, so
once planted they stay. verify_audit names them in a bounded summary of their own (a count, the first ids,
the first few reasons) that never takes the place of a problem of the chain or of a live row, which are
always listed. An operator who has looked at them acknowledges them in the AUDIT_ACKNOWLEDGED_PLANTED
setting (configuration, not the database, which the attacker writes): verify_audit then passes again
unless something new appears. Each entry names rows that must be planted now:

    checkpoint:57   checkpoint:2-21   node:0/1000000000   node:3/5-9

An entry naming a row that is not planted (none there, or a trusted checkpoint) is itself a problem, so a
stale or mistyped entry cannot lie in wait for a row planted later under an acknowledged id.
"""

from collections.abc import Iterable

from django.conf import settings

SHIFT = 56  # AuditTreeNode.HEIGHT_SHIFT (not imported: models load apps)
SHOWN = 10  # ids, and reasons, shown per kind of planted row
ENTRIES_SHOWN = 100  # entries of a suggested AUDIT_ACKNOWLEDGED_PLANTED value


class BadEntry(ValueError):
    pass


def node_name(key: int) -> str:
    return f"{key >> SHIFT}/{key & ((1 << SHIFT) - 1)}"


def _node_key(text: str) -> int:
    height, position = text.split("/")
    if not (0 <= int(height) < 64 and 0 <= int(position) < 1 << SHIFT):
        raise ValueError
    return (int(height) << SHIFT) | int(position)


def parse_entry(entry: str) -> tuple[str, list[int]]:
    """("checkpoint" | "node", the ids or node keys an entry names); raises BadEntry."""
    kind, _, what = entry.strip().partition(":")
    try:
        first, _, last = what.partition("-")
        if kind == "checkpoint":
            lo, hi = int(first), int(last or first)
        elif kind == "node":
            lo = _node_key(first)
            hi = lo if not last else (lo >> SHIFT << SHIFT) | int(last)
        else:
            raise ValueError
    except ValueError:
        raise BadEntry(f"AUDIT_ACKNOWLEDGED_PLANTED entry {entry.strip()!r} is not checkpoint:ID, checkpoint:ID-ID, "
                       "node:HEIGHT/POSITION or node:HEIGHT/POSITION-POSITION") from None  # fmt: skip
    if not 0 <= lo <= hi or hi - lo >= 10**7:
        raise BadEntry(f"AUDIT_ACKNOWLEDGED_PLANTED entry {entry.strip()!r} is not an ascending range (at most 10⁷)")
    return kind, list(range(lo, hi + 1))


def entries(kind: str, ids: Iterable[int]) -> list[str]:
    """The acknowledgement entries naming exactly `ids`, consecutive ones as ranges."""
    found: list[str] = []
    ordered = sorted(ids)
    start = 0
    for i in range(1, len(ordered) + 1):
        if i < len(ordered) and ordered[i] == ordered[i - 1] + 1 and (kind != "node" or ordered[i] >> SHIFT ==
                                                                        ordered[start] >> SHIFT):  # fmt: skip
            continue
        lo, hi = ordered[start], ordered[i - 1]
        if kind == "node":
            name = node_name(lo) + (f"-{hi & ((1 << SHIFT) - 1)}" if hi != lo else "")
        else:
            name = f"{lo}" + (f"-{hi}" if hi != lo else "")
        found.append(f"{kind}:{name}")
        start = i
    return found


class Planted:
    """What verify_audit found planted, split into acknowledged and not, with bounded messages."""

    def __init__(self, checkpoints: dict[int, str], nodes: dict[int, str]) -> None:
        self.found = {"checkpoint": checkpoints, "node": nodes}  # id or key → why it is planted
        self.problems: list[str] = []  # unacknowledged planted rows (bounded), and bad acknowledgements
        self.notes: list[str] = []
        acknowledged: dict[str, set[int]] = {"checkpoint": set(), "node": set()}
        for entry in getattr(settings, "AUDIT_ACKNOWLEDGED_PLANTED", []) or []:
            if not entry.strip():
                continue
            try:
                kind, ids = parse_entry(entry)
            except BadEntry as error:
                self.problems.append(str(error))
                continue
            stale = [i for i in ids if i not in self.found[kind]]
            if stale:
                name = node_name(stale[0]) if kind == "node" else str(stale[0])
                self.problems.append(f"AUDIT_ACKNOWLEDGED_PLANTED entry {entry.strip()!r} names {kind} {name}, which "
                                     "is not a planted row now (none there, or a trusted one): it acknowledges "
                                     "nothing; correct or remove it")  # fmt: skip
                continue
            acknowledged[kind].update(ids)
        self.open = {kind: {i: why for i, why in rows.items() if i not in acknowledged[kind]}
                     for kind, rows in self.found.items()}  # fmt: skip
        for kind, what in (("checkpoint", "checkpoint row(s)"), ("node", "tree node(s)")):
            done = len(self.found[kind]) - len(self.open[kind])
            if done:
                self.notes.append(f"{done} planted {what} acknowledged in AUDIT_ACKNOWLEDGED_PLANTED")
            rows = self.open[kind]
            if not rows:
                continue
            first = sorted(rows)[:SHOWN]
            names = ", ".join(node_name(i) if kind == "node" else str(i) for i in first)
            more = f", first {SHOWN} of {len(rows)}" if len(rows) > SHOWN else ""
            label = "nodes" if kind == "node" else "ids"
            self.problems.append(f"{len(rows)} planted {what} ({label} {names}{more}): not trusted, not used; "
                                 "the app's role can insert them, not remove them: acknowledge them once "
                                 "checked (AUDIT_ACKNOWLEDGED_PLANTED)")  # fmt: skip
            reasons = list(dict.fromkeys(rows[i] for i in first))
            self.problems.extend(f"  {why}" for why in reasons)

    @property
    def suggestion(self) -> str:
        """An AUDIT_ACKNOWLEDGED_PLANTED value acknowledging what is planted now (bounded), or ''."""
        if not any(self.open.values()):
            return ""
        found = entries("checkpoint", self.found["checkpoint"]) + entries("node", self.found["node"])
        if len(found) > ENTRIES_SHOWN:
            return (f"{','.join(found[:ENTRIES_SHOWN])} … ({len(found) - ENTRIES_SHOWN} more entries: rows this "
                    "scattered are better looked at by a database owner)")  # fmt: skip
        return ",".join(found)
