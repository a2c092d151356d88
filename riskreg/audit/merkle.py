"""The Merkle tree over the audit trail, its signed checkpoints, and their proofs (issue 18).

Leaf i is the 32-byte hash of event i+1, hashed as RFC 6962 / RFC 9162 say (verify.py holds the
hashing and the checks, so an outsider's copy and the server agree by construction). Every node
that completes a perfect subtree is stored once (AuditTreeNode): a tree of n events keeps about 2n
nodes, the root of any size and every proof are read from O(log n) of them (one query).

The tree is extended from the chain in order, a batch at a time, when a checkpoint is made or a
proof asked for: appending an event costs nothing more than before, and no request recomputes the
whole tree. A checkpoint is signed only if the stored tree still extends the previous checkpoint.
"""

import base64
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from . import signing
from .models import AuditCheckpoint, AuditEvent, AuditHead, AuditTreeNode
from .verify import ProofError, TreeBuilder, check_consistency, node_hash, split_point

SHIFT = AuditTreeNode.HEIGHT_SHIFT
BATCH = 5000
LOCK_ID = 0x7269736B  # the PostgreSQL advisory lock that serialises extend() ("risk")

Get = Callable[[int, int], bytes]  # a stored node's hash by (height, position)
T = TypeVar("T")


class TreeError(Exception):
    """The tree cannot be extended or read as asked; the message says why."""


def node_key(height: int, position: int) -> int:
    return (height << SHIFT) | position


def tree_size() -> int:
    last = AuditTreeNode.objects.filter(key__lt=1 << SHIFT).aggregate(last=Max("key"))["last"]
    return 0 if last is None else last + 1


def _perfect_subtrees(size: int) -> list[tuple[int, int]]:
    """(height, position) of the perfect subtrees a tree of `size` leaves splits into, left to right."""
    parts, offset = [], 0
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            parts.append((height, offset >> height))
            offset += 1 << height
    return parts


def _read(wanted: Iterable[int]) -> dict[int, bytes]:
    keys = sorted(set(wanted))
    found: dict[int, bytes] = {}
    for start in range(0, len(keys), 900):
        rows = AuditTreeNode.objects.filter(key__in=keys[start : start + 900]).values_list("key", "hash")
        found.update((key, bytes.fromhex(value)) for key, value in rows)
    return found


def _with_nodes(compute: Callable[[Get], T]) -> T:
    """Run `compute(get)` twice: once to learn which stored nodes it reads, then with them read at once."""
    wanted: set[int] = set()

    def record(height: int, position: int) -> bytes:
        wanted.add(node_key(height, position))
        return bytes(32)

    compute(record)
    nodes = _read(wanted)
    missing = wanted - nodes.keys()
    if missing:
        raise TreeError(f"{len(missing)} tree nodes are missing: run manage.py verify_audit")
    return compute(lambda height, position: nodes[node_key(height, position)])


def extend() -> int:
    """Add the events appended since the tree was last extended; returns the tree's size."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
        size = tree_size()
        head = AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
        if head <= size:
            return size
        parts = _perfect_subtrees(size)
        known = _read(node_key(height, position) for height, position in parts)
        try:
            stack = [(height, known[node_key(height, position)]) for height, position in parts]
        except KeyError:
            raise TreeError("the tree's stored nodes are incomplete: run manage.py verify_audit") from None
        pending: list[tuple[int, str]] = []
        builder = TreeBuilder(size, stack, lambda h, p, value: pending.append((node_key(h, p), value.hex())))
        events = (AuditEvent.objects.filter(seq__gt=size, seq__lte=head).order_by("seq")
                  .values_list("seq", "hash").iterator(chunk_size=BATCH))  # fmt: skip
        for seq, digest in events:
            if seq != builder.size + 1:
                raise TreeError(f"event {builder.size + 1} is missing from the trail: the tree stops before it")
            builder.append(bytes.fromhex(digest))
            if len(pending) >= BATCH:
                _store(pending)
                pending.clear()
        _store(pending)
        if builder.size != head:
            raise TreeError(f"event {builder.size + 1} is missing from the trail: the tree stops before it")
        return builder.size


def _store(nodes: list[tuple[int, str]]) -> None:
    """Insert tree nodes: with COPY on PostgreSQL (a first checkpoint of a long trail stores millions)."""
    if not nodes:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(AuditTreeNode._meta.db_table)
        with connection.cursor() as cursor, cursor.connection.cursor().copy(
            f"COPY {table} (key, hash) FROM STDIN"
        ) as copy:  # fmt: skip
            for row in nodes:
                copy.write_row(row)
    else:
        AuditTreeNode.objects.bulk_create([AuditTreeNode(key=key, hash=value) for key, value in nodes])


def _subtree(lo: int, hi: int, get: Get) -> bytes:
    """MTH of leaves [lo, hi): a stored node when the range is a perfect subtree, else split as RFC 6962."""
    n = hi - lo
    if n & (n - 1) == 0 and lo % n == 0:
        height = n.bit_length() - 1
        return get(height, lo >> height)
    k = split_point(n)
    return node_hash(_subtree(lo, lo + k, get), _subtree(lo + k, hi, get))


def _path(m: int, lo: int, hi: int, get: Get) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[lo:hi]): the audit path of leaf lo+m, nearest sibling first."""
    n = hi - lo
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return _path(m, lo, lo + k, get) + [_subtree(lo + k, hi, get)]
    return _path(m - k, lo + k, hi, get) + [_subtree(lo, lo + k, get)]


def _subproof(m: int, lo: int, hi: int, complete: bool, get: Get) -> list[bytes]:
    """RFC 6962 §2.1.2 SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if complete else [_subtree(lo, hi, get)]
    k = split_point(n)
    if m <= k:
        return _subproof(m, lo, lo + k, complete, get) + [_subtree(lo + k, hi, get)]
    return _subproof(m - k, lo + k, hi, False, get) + [_subtree(lo, lo + k, get)]


def _ready(size: int) -> None:
    if size > tree_size() and extend() < size:
        raise TreeError(f"the trail holds fewer than {size} events")


def root(size: int) -> bytes:
    if size == 0:
        return TreeBuilder().root()
    _ready(size)
    parts = _perfect_subtrees(size)

    def fold(get: Get) -> bytes:
        return TreeBuilder(size, [(height, get(height, position)) for height, position in parts]).root()

    return _with_nodes(fold)


def inclusion_proof(seq: int, size: int) -> list[bytes]:
    if not 1 <= seq <= size:
        raise TreeError(f"event {seq} is not among the first {size} events")
    _ready(size)
    return _with_nodes(lambda get: _path(seq - 1, 0, size, get))


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    if not 0 <= old_size <= new_size:
        raise TreeError(f"a tree of {new_size} events cannot extend one of {old_size}")
    if old_size in (0, new_size):
        return []
    _ready(new_size)
    return _with_nodes(lambda get: _subproof(old_size, 0, new_size, True, get))


# -- checkpoints --------------------------------------------------------------------------------------


def origin() -> str:
    return settings.AUDIT_ORIGIN


def make_checkpoint() -> tuple[AuditCheckpoint, bool]:
    """Sign the tree as it stands; returns (checkpoint, made). Nothing new since the latest checkpoint
    by the same key: that one is returned. Refuses when the trail no longer extends the latest one."""
    key = signing.load()
    with transaction.atomic():
        size = extend()
        head = root(size)
        latest = AuditCheckpoint.objects.order_by("-id").first()
        if latest is not None:
            try:
                check_consistency(latest.tree_size, size, bytes.fromhex(latest.root_hash), head,
                                  consistency_proof(latest.tree_size, size))  # fmt: skip
            except (ProofError, TreeError) as error:
                message = f"the trail no longer extends checkpoint {latest.pk}; nothing signed: {error}"
                raise TreeError(message) from None
            if (latest.tree_size, latest.verifier_key, latest.origin) == (size, key.verifier_key, origin()):
                return latest, False
        text = f"{origin()}\n{size}\n{base64.b64encode(head).decode()}\n"
        checkpoint = AuditCheckpoint.objects.create(
            tree_size=size, root_hash=head.hex(), origin=origin(), key_name=key.name,
            verifier_key=key.verifier_key, demo_key=key.demo, note=key.sign_note(text),
        )  # fmt: skip
        return checkpoint, True


def covering(seq: int) -> AuditCheckpoint | None:
    """The newest checkpoint whose tree holds event `seq`."""
    return AuditCheckpoint.objects.filter(tree_size__gte=seq).order_by("-id").first()


def _lines(hashes: list[bytes]) -> str:
    return "".join(base64.b64encode(value).decode() + "\n" for value in hashes)


def inclusion_document(seq: int, checkpoint: AuditCheckpoint) -> str:
    """The proof file `verify.py inclusion` (and any RFC 6962 verifier) checks, with its checkpoint."""
    event_hash = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
    if event_hash is None:
        raise TreeError(f"there is no event {seq}")
    proof = inclusion_proof(seq, checkpoint.tree_size)
    header = (f"riskreg inclusion proof\nevent {seq}\nhash {event_hash}\nindex {seq - 1}\n"
              f"size {checkpoint.tree_size}\n")  # fmt: skip
    return f"{header}{_lines(proof)}\n{checkpoint.note}"


def consistency_document(old: AuditCheckpoint, new: AuditCheckpoint) -> str:
    if old.tree_size > new.tree_size:
        old, new = new, old
    proof = consistency_proof(old.tree_size, new.tree_size)
    header = f"riskreg consistency proof\nold {old.tree_size}\nnew {new.tree_size}\n"
    return f"{header}{_lines(proof)}\n{old.note}\n{new.note}"
