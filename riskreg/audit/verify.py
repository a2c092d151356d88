#!/usr/bin/env python3
"""Verify a riskreg audit export (JSON Lines) offline, with nothing but Python's standard library.

    python3 verify.py audit.jsonl [--head SEQ:HASH] [--allow-gaps]

Each line is one event: its fields, `prev_hash` and `hash`, where
hash = SHA-256(prev_hash ‖ canonical JSON of the event's other fields). The file verifies when
every line's hash is right, every line's prev_hash is the hash of the line before, and the
sequence numbers run 1, 2, 3, … without a gap. An edited, deleted, inserted or reordered event
breaks that, and the first bad line is named. A file cut short at its end still forms a valid
chain: compare it with a head published elsewhere (`manage.py audit_head`) using --head.

A filtered export (by time, user, model) is not one unbroken chain: --allow-gaps checks each
event's own hash and the links between consecutive sequence numbers only.

Exit status: 0 verified, 1 a bad line or a head mismatch, 2 the file cannot be read.
This file is self-contained on purpose: copy it anywhere and run it.
"""

import argparse
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


def main(argv=None) -> int:
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
