#!/usr/bin/env python3
"""Verify riskreg's audit trail offline: an export, a signed checkpoint, and Merkle proofs.

    python3 verify.py audit.jsonl [--head SEQ:HASH] [--allow-gaps]
    python3 verify.py checkpoint checkpoint.txt --key KEY [--export audit.jsonl]
    python3 verify.py inclusion proof.txt --key KEY [--export audit.jsonl]
    python3 verify.py consistency proof.txt --key KEY --kept checkpoint-you-kept.txt
    python3 verify.py redaction published.json unredacted.json

**The chain.** Each line of an export is one event: its fields, `prev_hash` and `hash`, where
hash = SHA-256(prev_hash ‖ canonical JSON of the event's other fields). The file verifies when
every line's hash is right, every line's prev_hash is the hash of the line before, and the
sequence numbers run 1, 2, 3, … without a gap. An edited, deleted, inserted or reordered event
breaks that, and the first bad line is named. A file cut short at its end still forms a valid
chain: compare it with a head published elsewhere (`manage.py audit_head`) using --head.
A filtered export (by time, user, model) is not one unbroken chain: --allow-gaps checks each
event's own hash and the links between consecutive sequence numbers only.

**The tree** (RFC 6962 / RFC 9162): leaf i is the 32-byte hash of event i+1; leaf hash =
SHA-256(0x00 ‖ leaf), node hash = SHA-256(0x01 ‖ left ‖ right). A checkpoint is a C2SP
tlog-checkpoint (origin, tree size, base64 root) signed as a C2SP signed-note with Ed25519; KEY is
the verifier key `name+keyid+base64(0x01 ‖ public key)` (as /audit/key serves it) or a file holding
it. `checkpoint` checks the signature and, with --export, that the export's first SIZE events give
the checkpoint's root. `inclusion` checks an inclusion proof (`manage.py audit_prove SEQ`) and the
checkpoint it carries; with --export, also that the proven event is that line of the export.
`consistency` checks that a later checkpoint extends the one you kept (`audit_prove --consistency`):
--kept names the checkpoint you fetched and kept earlier, and the proof's earlier tree must be exactly
that one (its size and root). A proof carries its own copy of the earlier checkpoint, which whoever
holds the key can re-sign after a rewrite; only the copy you kept says what the tree was. A rewritten
or truncated trail cannot produce a proof from it.

**A redacted filing** (a transparency report published with items withheld): `redaction` checks that
the unredacted copy is the one the published copy was made from — its SHA-256 (of the canonical JSON)
is the published copy's `unredacted_sha256`, each withheld item's SHA-256(salt ‖ canonical JSON of
the value) is the one published, and every other item is the same in both.

Ed25519 signatures are checked with the `cryptography` package when it is installed; without it
every other check still runs and the result says plainly that the signature was NOT checked.

Exit status: 0 verified, 1 a check failed, 2 a file cannot be read, 3 everything verified except
the signature, which could not be checked here.
This file is self-contained on purpose: copy it anywhere and run it.
"""

import argparse
import base64
import hashlib
import json
import sys

GENESIS_HASH = "0" * 64


def canonical_json(document) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(prev_hash: str, document: dict) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(document)).hexdigest()


class ChainError(Exception):
    def __init__(self, line_number: int, message: str):
        super().__init__(f"line {line_number}: {message}")
        self.line_number = line_number


def verify_lines(lines, head: tuple[int, str] | None = None, allow_gaps: bool = False) -> int:
    """Check an iterable of JSON lines; return the number of events verified or raise ChainError."""
    previous_seq, previous_hash = 0, GENESIS_HASH
    count = 0
    line_number = 0
    head_line, head_seen_hash = 0, None
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ChainError(line_number, "empty line")
        try:
            event = json.loads(line)
        except ValueError as error:
            raise ChainError(line_number, f"not valid JSON ({error})") from None
        if not isinstance(event, dict) or not {"seq", "prev_hash", "hash"} <= event.keys():
            raise ChainError(line_number, "not an audit event (needs seq, prev_hash and hash)")
        seq, prev_hash, claimed = event.pop("seq"), event.pop("prev_hash"), event.pop("hash")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ChainError(line_number, "seq is not a whole number")
        event["seq"] = seq
        if not isinstance(prev_hash, str) or not isinstance(claimed, str):
            raise ChainError(line_number, "prev_hash and hash must be hex strings")

        if event_hash(prev_hash, event) != claimed:
            raise ChainError(line_number, f"event {seq} was altered: its hash does not match its content")
        consecutive = seq == previous_seq + 1
        if not consecutive:
            if seq <= previous_seq:
                raise ChainError(line_number, f"event {seq} is out of order (after event {previous_seq})")
            if not allow_gaps:
                missing = (
                    f"event {previous_seq + 1}" if seq == previous_seq + 2 else f"events {previous_seq + 1}–{seq - 1}"
                )
                raise ChainError(line_number, f"{missing} missing before event {seq}")
        if (consecutive or line_number == 1 and not allow_gaps) and prev_hash != previous_hash:
            raise ChainError(
                line_number,
                f"event {seq} does not follow event {previous_seq}: prev_hash differs (inserted or removed?)",
            )
        if head is not None and seq == head[0]:
            head_line, head_seen_hash = line_number, claimed
        previous_seq, previous_hash = seq, claimed
        count += 1

    if head is not None:
        head_seq, head_hash = head
        if previous_seq < head_seq:
            raise ChainError(
                line_number + 1, f"file ends at event {previous_seq}, the published head is {head_seq}: truncated"
            )
        if head_seen_hash is None:
            raise ChainError(line_number, f"event {head_seq} of the published head is not in the file")
        if head_seen_hash != head_hash:
            raise ChainError(head_line, f"event {head_seq} does not match the published head's hash")
    return count


def parse_head(value: str) -> tuple[int, str]:
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise argparse.ArgumentTypeError("expected SEQ:HASH, e.g. 1042:9f86d08…(64 hex digits)")
    return int(seq), digest.lower()


# -- the Merkle tree (RFC 6962 / RFC 9162) ----------------------------------------------------------


class ProofError(Exception):
    pass


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


class TreeBuilder:
    """The root of a growing tree in O(log n) memory: the roots of its perfect subtrees, left to right.

    `on_node(height, position, hash)`, when given, is told every node completed (the server stores them);
    `size` and `stack` resume a tree already built that far."""

    def __init__(self, size: int = 0, stack=None, on_node=None):
        self.size = size
        self.stack: list[tuple[int, bytes]] = list(stack or [])  # (height, hash)
        self.on_node = on_node

    def append(self, leaf: bytes) -> None:
        index, height, value = self.size, 0, leaf_hash(leaf)
        if self.on_node:
            self.on_node(0, index, value)
        while self.stack and self.stack[-1][0] == height:
            value = node_hash(self.stack.pop()[1], value)
            height += 1
            if self.on_node:
                self.on_node(height, index >> height, value)
        self.stack.append((height, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()  # the empty tree's hash (RFC 6962 §2.1)
        value = self.stack[-1][1]
        for _height, left in reversed(self.stack[:-1]):
            value = node_hash(left, value)
        return value


def check_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: `leaf` (an event hash) is leaf `index` of the tree of `size` with `root`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, value = index, size - 1, leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            value = node_hash(value, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if value != root:
        raise ProofError("the proof does not lead to the checkpoint's root: the event is not in that tree")


def check_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> None:
    """RFC 9162 §2.1.4.2: the tree of `new_size` extends the tree of `old_size` (nothing before changed)."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of {new_size} cannot extend one of {old_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("two trees of the same size with different roots: the trail was rewritten")
        return
    if old_size == 0:
        return  # every tree extends the empty one
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for value in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            first, second = node_hash(value, first), node_hash(value, second)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, value)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or first != old_root:
        raise ProofError(f"the tree of {new_size} does not extend the checkpointed tree of {old_size}: rewritten")
    if second != new_root:
        raise ProofError("the proof does not lead to the later checkpoint's root")


# -- signed notes and checkpoints (C2SP signed-note, tlog-checkpoint) -------------------------------

ED25519 = 0x01
DASH = "\u2014"  # a signature line starts with an em dash and a space


class NoteError(Exception):
    pass


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name) and name.isprintable()


def parse_verifier_key(text: str) -> tuple[str, bytes, bytes]:
    """`name+hex key id+base64(0x01 ‖ public key)` → (name, key id, public key)."""
    parts = text.strip().split("+", 2)  # the base64 key may hold "+" itself
    if len(parts) != 3 or not valid_key_name(parts[0]) or len(parts[1]) != 8:
        raise NoteError("not a verifier key (name+keyid+base64 key)")
    try:
        raw, claimed = base64.b64decode(parts[2], validate=True), bytes.fromhex(parts[1])
    except ValueError:
        raise NoteError("not a verifier key: bad hex or base64") from None
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("not an Ed25519 verifier key")
    if key_id(parts[0], raw[1:]) != claimed:
        raise NoteError("the verifier key's id does not match its name and key")
    return parts[0], claimed, raw[1:]


def split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """A signed note → its text (ending in a newline) and its signatures (name, key id, signature)."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise NoteError("not a signed note (text, a blank line, signature lines)")
    found = []
    for line in signatures.rstrip("\n").split("\n"):
        dash, _, rest = line.partition(" ")
        name, _, value = rest.partition(" ")
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise NoteError(f"a signature line is not base64: {line[:60]}") from None
        if dash != DASH or not valid_key_name(name) or len(raw) < 5:
            raise NoteError(f"not a signature line: {line[:60]}")
        found.append((name, raw[:4], raw[4:]))
    return text + "\n", found


def check_note(note: str, verifier_key: str) -> tuple[str, bool]:
    """The note's text, and whether its signature by `verifier_key` was checked (False: no library).

    Raises NoteError when the note is not signed by that key, or the signature is wrong."""
    name, wanted_id, public_key = parse_verifier_key(verifier_key)
    text, signatures = split_note(note)
    mine = [sig for key_name, kid, sig in signatures if key_name == name and kid == wanted_id]
    if not mine:
        raise NoteError(f"the note is not signed by the key {name}+{wanted_id.hex()}")
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return text, False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(mine[0], text.encode())
    except (InvalidSignature, ValueError):
        raise NoteError(f"the signature by {name} is not valid for this text: forged or altered") from None
    return text, True


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """A C2SP tlog-checkpoint's body → (origin, tree size, root hash)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("not a checkpoint (origin, size and root hash lines)")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError("not a checkpoint: bad origin or tree size")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except ValueError:
        raise NoteError("not a checkpoint: the root hash is not base64") from None
    if len(root_hash) != 32:
        raise NoteError("not a checkpoint: the root hash is not 32 bytes")
    return origin, int(size), root_hash


def parse_proof(document: str, kind: str) -> tuple[dict, list[bytes], list[str]]:
    """A proof file from `audit_prove`: header lines, base64 hashes, a blank line, then signed notes."""
    parts = document.split("\n\n")
    if len(parts) < 3 or len(parts) % 2 == 0:
        raise NoteError("not a proof file (a header, a blank line, then the signed checkpoints)")
    lines = parts[0].split("\n")
    if lines[0] != f"riskreg {kind} proof":
        raise NoteError(f"not a riskreg {kind} proof")
    fields, hashes = {}, []
    for line in lines[1:]:
        key, sep, value = line.partition(" ")
        try:
            if sep:
                fields[key] = value
            else:
                hashes.append(base64.b64decode(line, validate=True))
        except ValueError:
            raise NoteError(f"a proof line is not base64: {line[:60]}") from None
    if any(len(value) != 32 for value in hashes):
        raise NoteError("a proof hash is not 32 bytes")
    notes = [parts[i] + "\n\n" + parts[i + 1].rstrip("\n") + "\n" for i in range(1, len(parts), 2)]
    return fields, hashes, notes


def _number(fields: dict, name: str) -> int:
    value = fields.get(name, "")
    if not value.isascii() or not value.isdigit():
        raise NoteError(f"the proof's {name} is not a number")
    return int(value)


def export_root(lines, size: int) -> bytes:
    """The root of the tree over the first `size` events of a JSON Lines export (checked as a chain)."""
    builder = TreeBuilder()

    def first(limit):  # each line after verify_lines has checked it, up to `limit` lines
        if limit == 0:
            return
        for line in lines:
            yield line
            builder.append(bytes.fromhex(json.loads(line)["hash"]))
            if builder.size >= limit:
                return

    verify_lines(first(size))
    if builder.size < size:
        raise ProofError(f"the export holds {builder.size} events; the checkpoint covers {size}")
    return builder.root()


def _read(path: str) -> str:
    with sys.stdin if path == "-" else open(path, encoding="utf-8") as stream:
        return stream.read()


def _key(value: str) -> str:
    """A verifier key given as itself, or as the name of a file holding it."""
    try:
        parse_verifier_key(value)
        return value
    except NoteError as error:
        try:
            return _read(value).strip()
        except OSError:
            raise NoteError(f"--key is neither a verifier key ({error}) nor a file that can be read") from None


def _signed(note: str, key: str, what: str, out: list) -> tuple[str, int, bytes]:
    text, checked = check_note(note, key)
    origin, size, root = parse_checkpoint(text)
    if not checked:
        out.append(f"NOT CHECKED: the signature of {what} (install the `cryptography` package to check it)")
    return origin, size, root


def verify_proof_command(args) -> tuple[list[str], bool]:
    """Run `checkpoint`, `inclusion` or `consistency`; return what was verified and whether a signature
    went unchecked. Raises NoteError or ProofError (or ChainError) when a check fails."""
    notes_unchecked: list[str] = []
    key = _key(args.key)
    said = []
    if args.command == "checkpoint":
        origin, size, root = _signed(_read(args.file), key, "the checkpoint", notes_unchecked)
        said.append(f"checkpoint of {origin}: {size} events, root {root.hex()}")
        if args.export:
            with open(args.export, encoding="utf-8") as lines:
                if export_root(lines, size) != root:
                    raise ProofError(f"the export's first {size} events do not give the checkpoint's root")
            said.append(f"the export's first {size} events give that root")
    elif args.command == "inclusion":
        fields, hashes, notes = parse_proof(_read(args.file), "inclusion")
        if len(notes) != 1:
            raise NoteError("an inclusion proof carries one checkpoint")
        origin, size, root = _signed(notes[0], key, "the checkpoint", notes_unchecked)
        seq, index, proof_size = _number(fields, "event"), _number(fields, "index"), _number(fields, "size")
        if index != seq - 1 or proof_size != size:
            raise ProofError("the proof's event, index and size do not match each other and the checkpoint")
        try:
            leaf = bytes.fromhex(fields.get("hash", ""))
        except ValueError:
            raise NoteError("the proof's event hash is not hex") from None
        check_inclusion(index, size, leaf, hashes, root)
        said.append(f"event {seq} (hash {leaf.hex()}) is in the checkpointed tree of {size} events of {origin}")
        if args.export:
            with open(args.export, encoding="utf-8") as lines:
                line = next((line for line in lines if json.loads(line).get("seq") == seq), None)
            if line is None:
                raise ProofError(f"event {seq} is not in the export")
            verify_lines([line], allow_gaps=True)
            if json.loads(line)["hash"] != leaf.hex():
                raise ProofError(f"the export's event {seq} is not the proven one")
            said.append(f"the export's event {seq} is that event, and its content matches its hash")
    else:
        if not args.kept:
            raise NoteError("a consistency proof is checked against the checkpoint you kept: give it with --kept FILE "
                            "(the proof's own copy of the earlier checkpoint proves nothing on its own)")
        kept_origin, kept_size, kept_root = _signed(_read(args.kept), key, "the kept checkpoint", notes_unchecked)
        fields, hashes, notes = parse_proof(_read(args.file), "consistency")
        if len(notes) != 2:
            raise NoteError("a consistency proof carries the two checkpoints")
        old_origin, old_size, old_root = _signed(notes[0], key, "the earlier checkpoint", notes_unchecked)
        if (kept_origin, kept_size) != (old_origin, old_size):
            raise ProofError(f"the proof starts from a tree of {old_size} events of {old_origin}, not from the "
                             f"checkpoint you kept ({kept_size} events of {kept_origin}): ask for a proof from yours")
        if kept_root != old_root:
            raise ProofError(f"the proof's earlier tree of {old_size} events has root {old_root.hex()}, but the "
                             f"checkpoint you kept has root {kept_root.hex()}: the trail was rewritten since you "
                             "kept it, and re-signed")
        origin, new_size, new_root = _signed(notes[1], key, "the later checkpoint", notes_unchecked)
        if old_origin != origin:
            raise ProofError("the two checkpoints are of different logs")
        if (_number(fields, "old"), _number(fields, "new")) != (old_size, new_size):
            raise ProofError("the proof's sizes do not match its checkpoints")
        check_consistency(old_size, new_size, old_root, new_root, hashes)
        said.append(f"the tree of {new_size} events extends the tree of {old_size} events of {origin}, "
                    "the checkpoint you kept")
    return said + notes_unchecked, bool(notes_unchecked)


def check_redaction(unredacted: dict, published: dict) -> list[str]:
    """What does not correspond between an unredacted filing and its published copy (empty: they match)."""
    problems = []
    if hashlib.sha256(canonical_json(unredacted)).hexdigest() != published.get("unredacted_sha256"):
        problems.append("the unredacted copy's SHA-256 is not the one the published copy names")
    source_fields = unredacted.get("fields", {})
    for key, field in published.get("fields", {}).items():
        value = field.get("lines", field.get("value"))
        source = source_fields.get(key, {})
        original = source.get("lines", source.get("value"))
        if isinstance(value, dict) and "withheld" in value:
            salt = unredacted.get("salts", {}).get(key, "")
            try:
                digest = hashlib.sha256(bytes.fromhex(salt) + canonical_json(original)).hexdigest()
            except ValueError:
                digest = ""
            if not salt or digest != value.get("sha256"):
                problems.append(f"the withheld {key} does not match its hash")
        elif value != original:
            problems.append(f"{key} differs")
    if set(source_fields) != set(published.get("fields", {})):
        problems.append("the two copies do not have the same fields")
    return problems


def _redaction_command(argv) -> int:
    parser = argparse.ArgumentParser(description="Check a published filing against its unredacted copy.")
    parser.add_argument("published", help="the published copy (JSON)")
    parser.add_argument("unredacted", help="the unredacted copy (JSON)")
    args = parser.parse_args(argv)
    try:
        published, unredacted = json.loads(_read(args.published)), json.loads(_read(args.unredacted))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    problems = check_redaction(unredacted, published)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if problems:
        return 1
    withheld = [key for key, field in published.get("fields", {}).items()
                if isinstance(field.get("value"), dict) and "withheld" in field["value"]]  # fmt: skip
    print(f"OK: the unredacted copy is the one the published copy was made from ({len(withheld)} item(s) withheld)")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "redaction":
        return _redaction_command(argv[1:])
    if argv and argv[0] in ("checkpoint", "inclusion", "consistency"):
        parser = argparse.ArgumentParser(description="Verify a riskreg checkpoint or proof offline.")
        parser.add_argument("command", choices=["checkpoint", "inclusion", "consistency"])
        parser.add_argument("file", help="the signed checkpoint or the proof file, or - for standard input")
        parser.add_argument("--key", required=True, help="the verifier key (name+id+key), or a file holding it")
        parser.add_argument("--export", help="a JSON Lines export of the trail to check against")
        parser.add_argument("--kept", help="consistency: the earlier checkpoint you fetched and kept (required)")
        args = parser.parse_args(argv)
        try:
            said, unchecked = verify_proof_command(args)
        except (NoteError, ProofError, ChainError) as error:
            print(f"FAILED: {error}", file=sys.stderr)
            return 1
        except (OSError, UnicodeDecodeError) as error:
            print(f"cannot read: {error}", file=sys.stderr)
            return 2
        for line in said:
            print(("" if line.startswith("NOT CHECKED") else "OK: ") + line)
        return 3 if unchecked else 0
    return verify_export(argv)


def verify_export(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify a riskreg audit export (JSON Lines) offline.")
    parser.add_argument("file", help="the .jsonl export, or - for standard input")
    parser.add_argument("--head", type=parse_head, help="a published head SEQ:HASH the file must reach")
    parser.add_argument("--allow-gaps", action="store_true", help="the file is a filtered export")
    args = parser.parse_args(argv)
    try:
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    with stream:
        try:
            count = verify_lines(stream, head=args.head, allow_gaps=args.allow_gaps)
        except ChainError as error:
            print(f"FAILED at {error}", file=sys.stderr)
            return 1
        except UnicodeDecodeError:
            print(f"cannot read {args.file}: not UTF-8 text", file=sys.stderr)
            return 2
    if count == 0:
        print("FAILED: the file holds no events", file=sys.stderr)
        return 1
    print(f"OK: {count} events verified" + (f", up to the published head {args.head[0]}" if args.head else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
