"""The Merkle tree over the audit trail, its signed checkpoints, and their proofs (issue 18).

Leaf i is the 32-byte hash of event i+1, hashed as RFC 6962 / RFC 9162 say (verify.py holds the
hashing and the checks, so an outsider's copy and the server agree by construction). Every node
that completes a perfect subtree is stored once (AuditTreeNode): a tree of n events keeps about 2n
nodes, the root of any size and every proof are read from O(log n) of them (one query).

The tree is extended from the chain in order, a batch at a time, when a checkpoint is made: appending
an event costs nothing more than before, and no request recomputes the whole tree.

The stored nodes are a cache, never an authority (issue 27): the app's database role may insert rows
into the node and checkpoint tables. A checkpoint counts only if its note verifies against a verifier
key from configuration (signing.check_signed) and its columns say what its note says. The root to sign
is computed from the events appended since the newest such checkpoint, starting from that checkpoint's
perfect-subtree nodes once they are shown to fold into its signed root (else from every event): a
planted node is never signed. Nodes are stored without overwriting; a planted one already at a node's
place is named, and every proof is checked against its checkpoint's signed root before it is served,
computed from the events where the stored nodes do not give it.

No number of planted checkpoint rows hides the newest trusted one (latest_trusted): the signing step
records it in a file beside the key (`<key file>.latest`, its id and its note's SHA-256), where the app's
database role cannot write, and a row that file names counts once it verifies; without that file (a
server holding only the published key) every row is looked at, largest tree first, a chunk at a time,
each distinct note's signature checked once. Signing always looks at every row, so it extends every
trusted checkpoint, whether the file names it or not.
"""

import base64
import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q

from . import signing
from .models import AuditCheckpoint, AuditEvent, AuditHead, AuditTreeNode
from .verify import (
    NoteError,
    ProofError,
    TreeBuilder,
    check_consistency,
    check_inclusion,
    node_hash,
    parse_checkpoint,
    split_note,
    split_point,
)

SHIFT = AuditTreeNode.HEIGHT_SHIFT
BATCH = 5000
LOCK_ID = 0x7269736B  # the PostgreSQL advisory lock that serialises extend() ("risk")

Get = Callable[[int, int], bytes]  # a stored node's hash by (height, position)
T = TypeVar("T")
logger = logging.getLogger(__name__)


class TreeError(Exception):
    """The tree cannot be extended or read as asked; the message says why."""


def node_key(height: int, position: int) -> int:
    return (height << SHIFT) | position


def _head() -> int:
    return AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


def tree_size() -> int:
    """How far the stored tree reaches: one past its last leaf, within the trail (a leaf planted beyond the
    trail's head does not count; one planted within it is caught when its nodes are used)."""
    head = _head()
    last = AuditTreeNode.objects.filter(key__lt=min(head, 1 << SHIFT)).aggregate(last=Max("key"))["last"]
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
        for key, value in rows:
            try:
                found[key] = bytes.fromhex(value)
            except ValueError:  # a planted row that is not even hex: as if missing
                continue
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


def _from_events(height: int, position: int) -> bytes:
    """A node computed from the events themselves, not read from the stored tree."""
    builder = TreeBuilder(position << height)
    _append_events(builder, (position + 1) << height)
    return builder.stack[0][1] if len(builder.stack) == 1 else builder.root()


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])


def _append_events(builder: TreeBuilder, up_to: int, store: list[int] | None = None) -> None:
    """Append events builder.size+1 … up_to to the builder, in order. With `store` (a list the keys of
    planted nodes are added to), the nodes they complete are stored too."""
    pending: list[tuple[int, str]] = []
    if store is not None:
        builder.on_node = lambda h, p, value: pending.append((node_key(h, p), value.hex()))
    try:
        events = (AuditEvent.objects.filter(seq__gt=builder.size, seq__lte=up_to).order_by("seq")
                  .values_list("seq", "hash").iterator(chunk_size=BATCH))  # fmt: skip
        for seq, digest in events:
            if seq != builder.size + 1:
                raise TreeError(f"event {builder.size + 1} is missing from the trail: the tree stops before it")
            try:
                leaf = bytes.fromhex(digest)
            except ValueError:
                raise TreeError(f"event {seq}'s hash is not hex: run manage.py verify_audit") from None
            builder.append(leaf)
            if store is not None and len(pending) >= BATCH:
                store.extend(_store(pending))
                pending.clear()
        if store is not None:
            store.extend(_store(pending))
    finally:
        builder.on_node = None
    if builder.size != up_to:
        raise TreeError(f"event {builder.size + 1} is missing from the trail: the tree stops before it")


def _stack(size: int, root: bytes) -> list[tuple[int, bytes]] | None:
    """The stored perfect-subtree nodes of the tree of `size`, if they fold into `root` (a signed root)."""
    parts = _perfect_subtrees(size)
    known = _read(node_key(height, position) for height, position in parts)
    if len(known) != len(parts):
        return None
    stack = [(height, known[node_key(height, position)]) for height, position in parts]
    return stack if TreeBuilder(size, stack).root() == root else None


def _grow(size: int, root: bytes, up_to: int, planted: list[int]) -> TreeBuilder:
    """The tree of `up_to` events, grown from the tree of `size` whose signed root is `root` (0: the empty
    tree), storing the nodes it completes. Starts from the stored nodes of `size` when they give `root`,
    else rebuilds those events' tree; raises TreeError when the events no longer give `root`."""
    stack = _stack(size, root) if size else []
    if stack is None:  # the stored nodes are missing or wrong (planted): the events decide
        builder = TreeBuilder()
        _append_events(builder, size, planted)
        if builder.root() != root:
            raise TreeError(f"the events 1–{size} no longer give that checkpoint's signed root")
        stack = builder.stack
    builder = TreeBuilder(size, stack)
    _append_events(builder, up_to, planted)
    return builder


def extend() -> int:
    """Store the nodes of the events appended since the newest trusted checkpoint; returns the tree's size."""
    with transaction.atomic():
        _lock()
        latest = latest_trusted(thorough=True)
        size, signed_root = latest.signed if latest is not None else (0, b"")
        return _grow(size, signed_root, _head(), []).size


def _store(nodes: list[tuple[int, str]]) -> list[int]:
    """Insert tree nodes, never over a stored one: with COPY on PostgreSQL (a first checkpoint of a long
    trail stores millions). Returns the keys where a different node was stored already (planted)."""
    if not nodes:
        return []
    errors: tuple[type[Exception], ...] = (IntegrityError,)
    if connection.vendor == "postgresql":
        import psycopg

        errors += (psycopg.errors.IntegrityError,)  # COPY runs on psycopg's own cursor: its error is not Django's
    try:
        with transaction.atomic():  # a savepoint: a key already taken rolls back this batch only
            if connection.vendor == "postgresql":
                table = connection.ops.quote_name(AuditTreeNode._meta.db_table)
                with connection.cursor() as cursor, cursor.connection.cursor().copy(
                    f"COPY {table} (key, hash) FROM STDIN"
                ) as copy:  # fmt: skip
                    for row in nodes:
                        copy.write_row(row)
            else:
                AuditTreeNode.objects.bulk_create([AuditTreeNode(key=key, hash=value) for key, value in nodes])
        return []
    except errors:  # some keys are taken: store the others, and name those holding another hash
        pass
    AuditTreeNode.objects.bulk_create([AuditTreeNode(key=key, hash=value) for key, value in nodes],
                                      ignore_conflicts=True)  # fmt: skip
    stored: dict[int, str] = {}
    for start in range(0, len(nodes), 900):
        keys = [key for key, _value in nodes[start : start + 900]]
        stored.update(AuditTreeNode.objects.filter(key__in=keys).values_list("key", "hash"))
    wanted = dict(nodes)
    return [key for key, value in wanted.items() if stored.get(key) != value]


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
    if size > _head():
        raise TreeError(f"the trail holds fewer than {size} events")
    if size > tree_size():
        extend()


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


CHUNK = 1000  # checkpoint rows read at a time while looking for the newest that verifies
LATEST_SUFFIX = ".latest"  # beside the key file: the newest checkpoint signed with it (id and note's SHA-256)


def trusted(checkpoint: AuditCheckpoint, keys: list[str] | None = None) -> tuple[int, bytes]:
    """(tree size, root) of a checkpoint whose note verifies against a configured verifier key and whose
    columns say what its note says; raises NoteError naming why not (a planted or altered row)."""
    text = signing.check_signed(checkpoint.note, keys)
    note_origin, size, signed_root = parse_checkpoint(text)
    if (note_origin, size, signed_root.hex()) != (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash):
        raise NoteError("its columns (origin, tree size, root) are not what its signed note says")
    return size, signed_root


def _latest_path() -> Path | None:
    path = signing.key_path()
    return path.with_name(path.name + LATEST_SUFFIX) if path is not None else None


def _note_digest(note: str) -> str:
    return hashlib.sha256(note.encode()).hexdigest()


def remember_latest(checkpoint: AuditCheckpoint, *, over_newer: bool = True) -> None:
    """Record the newest trusted checkpoint in a file beside the signing key, where the app's database role
    cannot write: latest_trusted() then finds it at once, however many rows were planted ahead of it. A
    hint, never an authority: the row it names must still be there, say the same note and verify. Not
    `over_newer`: a file naming a later row that exists is kept (one signed and committed while a scan ran)."""
    path = _latest_path()
    if path is None or not path.parent.is_dir():
        return
    text = f"{checkpoint.pk} {_note_digest(checkpoint.note)}\n"
    try:
        if path.exists():
            recorded = path.read_text(encoding="ascii")
            if recorded == text:
                return
            named = recorded.split()[0] if recorded.split() else ""
            if not over_newer and named.isdigit() and int(named) > checkpoint.pk:
                if AuditCheckpoint.objects.filter(pk=int(named)).exists():
                    return
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except (OSError, UnicodeDecodeError) as error:  # a read-only folder: the scan finds it, at a cost per row
        logger.warning("cannot record the latest checkpoint in %s: %s", path, error)


def _remembered(head: int, keys: list[str]) -> AuditCheckpoint | None:
    """The checkpoint the file beside the key names, if it is there as recorded and verifies."""
    path = _latest_path()
    try:
        pk, digest = path.read_text(encoding="ascii").split() if path is not None else ("", "")
        checkpoint = AuditCheckpoint.objects.filter(pk=int(pk), origin=origin(), tree_size__lte=head).first()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if checkpoint is None or _note_digest(checkpoint.note) != digest:
        return None
    try:
        checkpoint.signed = trusted(checkpoint, keys)
    except NoteError:
        return None
    return checkpoint


def _scan(head: int, keys: list[str]) -> AuditCheckpoint | None:
    """Every row of this log within the trail, largest tree first, a chunk at a time, until one verifies:
    no number of planted rows hides it. Each distinct note is checked once (~0.1 ms an Ed25519 signature):
    copies of a rejected note cost a dictionary look-up."""
    rows = AuditCheckpoint.objects.filter(origin=origin(), tree_size__lte=head).order_by("-tree_size", "-id")
    said: dict[str, tuple[str, int, bytes] | None] = {}  # note's SHA-256 → what it signs (None: not trusted)
    after: tuple[int, int] | None = None
    while True:
        chunk = rows if after is None else rows.filter(Q(tree_size__lt=after[0]) |
                                                       Q(tree_size=after[0], id__lt=after[1]))  # fmt: skip
        batch = list(chunk[:CHUNK])
        for checkpoint in batch:
            digest = _note_digest(checkpoint.note)
            if digest not in said:
                try:
                    said[digest] = parse_checkpoint(signing.check_signed(checkpoint.note, keys))
                except NoteError:
                    said[digest] = None
            signed = said[digest]
            if signed is not None and (signed[0], signed[1], signed[2].hex()) == (
                checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash
            ):  # fmt: skip
                checkpoint.signed = signed[1], signed[2]
                return checkpoint
        if len(batch) < CHUNK:
            return None
        after = (batch[-1].tree_size, batch[-1].pk)


def latest_trusted(*, thorough: bool = False) -> AuditCheckpoint | None:
    """The checkpoint of this log with the largest tree that verifies against a configured key (on a tie,
    the last made: after a key rotation, the new key's). Planted rows, rows signed by other keys and copies
    of older checkpoints do not win, nor hide it however many: where the signing key is, the newest
    checkpoint signed is recorded beside it (remember_latest) and found at once; else, and always when
    `thorough` (signing, which must extend every trusted checkpoint), every row is looked at, largest tree
    first, until one verifies."""
    head, keys = _head(), signing.verifier_keys()
    checkpoint = None if thorough else _remembered(head, keys)
    if checkpoint is None:
        checkpoint = _scan(head, keys)
        if checkpoint is not None:
            remember_latest(checkpoint, over_newer=False)
    return checkpoint


def trusted_or_error(checkpoint: AuditCheckpoint) -> AuditCheckpoint:
    try:
        checkpoint.signed = trusted(checkpoint)
    except NoteError as error:
        raise TreeError(f"checkpoint {checkpoint.pk} is not trusted: {error}") from None
    return checkpoint


def make_checkpoint() -> tuple[AuditCheckpoint, bool]:
    """Sign the tree as it stands; returns (checkpoint, made). Nothing new since the newest trusted
    checkpoint by the same key: that one is returned. Refuses when the events no longer give it.

    The root signed is computed from the events, never read from the stored nodes alone; nodes planted
    where the tree's nodes go are named in the returned checkpoint's `problems` (and by verify_audit)."""
    key = signing.load()
    with transaction.atomic():
        _lock()
        head = _head()
        latest = latest_trusted(thorough=True)
        planted: list[int] = []
        if latest is None:
            builder = TreeBuilder()
            _append_events(builder, head, planted)
        else:
            size, signed_root = latest.signed
            by_this_key = any((name, kid) == (key.name, key.key_id) for name, kid, _ in split_note(latest.note)[1])
            if size == head and by_this_key:
                latest.problems = []
                return latest, False
            try:
                builder = _grow(size, signed_root, head, planted)
            except TreeError as error:
                message = f"the trail no longer extends checkpoint {latest.pk}; nothing signed: {error}"
                raise TreeError(message) from None
        text = f"{origin()}\n{builder.size}\n{base64.b64encode(builder.root()).decode()}\n"
        checkpoint = AuditCheckpoint.objects.create(
            tree_size=builder.size, root_hash=builder.root().hex(), origin=origin(), key_name=key.name,
            verifier_key=key.verifier_key, demo_key=key.demo, note=key.sign_note(text),
        )  # fmt: skip
        checkpoint.signed = (builder.size, builder.root())
        checkpoint.problems = [_planted_message(planted)] if planted else []
        remember_latest(checkpoint)  # now, so a request reading the file meanwhile scans rather than serve an
        transaction.on_commit(lambda: remember_latest(checkpoint))  # older one; and again once committed
        return checkpoint, True


def _planted_message(keys: list[int]) -> str:
    first = keys[0]
    return (f"{len(keys)} stored tree node(s) already held another hash where this tree's go (node "
            f"{first >> SHIFT}/{first & ((1 << SHIFT) - 1)} first): planted, not used; the signed root is "
            "computed from the events, and proofs touching them too")


def covering(seq: int) -> AuditCheckpoint | None:
    """The newest trusted checkpoint whose tree holds event `seq` (the largest, if it holds it)."""
    latest = latest_trusted()
    if latest is None or latest.tree_size < seq:
        return None
    return latest


def _proven(compute: Callable[[Get], T], check: Callable[[T], None]) -> T:
    """A proof from the stored nodes if it checks against the signed root, else from the events."""
    try:
        result = _with_nodes(compute)
        check(result)
        return result
    except (TreeError, ProofError):
        pass
    result = compute(_from_events)
    try:
        check(result)
    except ProofError:
        raise TreeError("the events no longer give the checkpoint's signed root: run manage.py verify_audit") from None
    return result


def _lines(hashes: list[bytes]) -> str:
    return "".join(base64.b64encode(value).decode() + "\n" for value in hashes)


def inclusion_document(seq: int, checkpoint: AuditCheckpoint) -> str:
    """The proof file `verify.py inclusion` (and any RFC 6962 verifier) checks, with its checkpoint."""
    event_hash = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
    if event_hash is None:
        raise TreeError(f"there is no event {seq}")
    size, signed_root = trusted_or_error(checkpoint).signed
    if not 1 <= seq <= size:
        raise TreeError(f"event {seq} is not among the first {size} events")
    leaf = bytes.fromhex(event_hash)
    proof = _proven(lambda get: _path(seq - 1, 0, size, get),
                    lambda found: check_inclusion(seq - 1, size, leaf, found, signed_root))  # fmt: skip
    header = (f"riskreg inclusion proof\nevent {seq}\nhash {event_hash}\nindex {seq - 1}\n"
              f"size {checkpoint.tree_size}\n")  # fmt: skip
    return f"{header}{_lines(proof)}\n{checkpoint.note}"


def consistency_document(old: AuditCheckpoint, new: AuditCheckpoint) -> str:
    if old.tree_size > new.tree_size:
        old, new = new, old
    (old_size, old_root), (new_size, new_root) = trusted_or_error(old).signed, trusted_or_error(new).signed
    if old_size == new_size and old_root != new_root:
        raise TreeError(f"checkpoints {old.pk} and {new.pk} sign two trees of {old_size} events with other roots")
    proof: list[bytes] = []
    if 0 < old_size < new_size:
        proof = _proven(lambda get: _subproof(old_size, 0, new_size, True, get),
                        lambda found: check_consistency(old_size, new_size, old_root, new_root, found))  # fmt: skip
    header = f"riskreg consistency proof\nold {old.tree_size}\nnew {new.tree_size}\n"
    return f"{header}{_lines(proof)}\n{old.note}\n{new.note}"
