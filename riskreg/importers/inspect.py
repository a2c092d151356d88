"""Read UK AISI Inspect evaluation logs (`.json` and `.eval`) as Inspect reads them, without inspect-ai.

`read_log(file, name)` returns an `InspectLog` with what riskreg records, or raises
`InspectLogError` with a message a person understands. It reads only what it needs: for `.eval`
zips, `header.json` (or, for a crashed or running run, `_journal/start.json` and the journal
summaries) and `summaries.json`; never the full samples. Everything is bounded before it is held:
the number of zip members, each member's unpacked size, the total unpacked per log, the header's
size, the number of samples, and the size of any one sample. Summaries and a `.json` log's samples
are streamed one at a time, so memory stays flat whatever the number of samples.

The headline is resolved as inspect-ai 0.3.285 does (`inspect_ai.log._headline`): the headline the
log recorded at scoring time, else the task's declared `headline_metric`; each set field of the
declaration (reducer, scorer, score) narrows the scores in turn, then `metric` picks the first score
carrying it; a declaration that matches nothing is abandoned whole for the first metric of the first
score. Its standard error is the `stderr` metric of the same score.
"""

import codecs
import json
import lzma
import math
import random
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import IO, Any, Protocol

from django.conf import settings

from riskreg.lib.forms import size_in_words

try:  # Zstandard members (inspect-ai 0.3.206 and later); Python 3.14's zipfile reads them natively
    from backports.zstd import ZstdError, zipfile
except ImportError:  # pragma: no cover - Python 3.14+
    import zipfile  # type: ignore[no-redef]  # the same API, from the standard library

    from compression.zstd import ZstdError  # type: ignore[import-not-found,no-redef]
import zipfile as stdlib_zipfile

# What a member whose compressed data is corrupt raises while it is unpacked: each decompressor has
# its own error (a corrupt Zstandard frame raised ZstdError, a 500 on the web and a traceback from
# the command, before these were caught).
UNPACK_ERRORS = (zipfile.BadZipFile, stdlib_zipfile.BadZipFile, EOFError, OSError, RuntimeError, ZstdError,
                 zlib.error, lzma.LZMAError)  # fmt: skip

SUPPORTED_VERSION = 2
STATUSES = {"success", "error", "cancelled", "started"}
# The kept header sections of a .json log (everything but samples and reductions).
HEADER_KEYS = {"version", "status", "eval", "plan", "results", "stats", "error", "tags", "metadata", "invalidated"}
CHUNK = 1 << 20


def limit(name: str) -> int:
    """One of the reading limits, from settings (see settings.py for what each bounds)."""
    return getattr(settings, name)


class _Reader(Protocol):
    """What the JSON stream reads from: a file, or a zip member within its bounds."""

    def read(self, size: int, /) -> bytes: ...


class InspectLogError(ValueError):
    """The file is not a log riskreg can record; the message says why."""


@dataclass
class Metric:
    """One value of the log's results, fully named: which scorer, which of its scores, which epoch
    reducer, which metric (and the metric's group, e.g. `grouped`)."""

    scorer: str
    score: str
    reducer: str | None
    metric: str
    group: str | None
    value: float | None

    @property
    def name(self) -> str:
        """`scorer/metric[reducer]`; a dict-valued scorer's score is `scorer.score` (Inspect's shorthand)."""
        base = self.scorer if self.score in ("", self.scorer) else f"{self.scorer}.{self.score}"
        named = f"{base}/{self.metric}"
        return f"{named}[{self.reducer}]" if self.reducer else named

    def as_json(self) -> dict:
        return {"name": self.name, "scorer": self.scorer, "score": self.score, "reducer": self.reducer,
                "metric": self.metric, "group": self.group, "value": self.value}  # fmt: skip


@dataclass
class _Score:
    name: str
    scorer: str
    reducer: str | None
    metrics: dict  # metric key → (value or None, group or None), in the log's order


@dataclass
class InspectLog:
    log_version: int
    status: str
    eval_id: str
    run_id: str
    task: str
    task_version: str
    model: str
    producer_version: str
    created: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    dataset: str
    epochs: int
    total_samples: int | None
    completed_samples: int | None
    sample_errors: int
    metrics: list[Metric]
    headline: Metric | None = None
    headline_stderr: float | None = None
    error_message: str = ""
    eval_set_id: str = ""
    task_id: str = ""
    dataset_samples: int | None = None
    epochs_reducer: list = field(default_factory=list)
    model_roles: dict = field(default_factory=dict)
    generate_config: dict = field(default_factory=dict)
    tags: list = field(default_factory=list)
    task_metadata: dict = field(default_factory=dict)
    model_usage: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)  # a few random input/output excerpts (SAMPLES_KEPT)

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @property
    def headline_value(self) -> float | None:
        return self.headline.value if self.headline else None

    @property
    def headline_name(self) -> str:
        return self.headline.name if self.headline else ""

    def metrics_as_json(self) -> list[dict]:
        return [m.as_json() for m in self.metrics]

    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]


# -- streaming JSON within bounds ----------------------------------------------------------------

_DECODER = json.JSONDecoder()


class RequestBudget:
    """The JSON values one request may still parse across all its files (issue 27).

    The limits of one log bound the work of that log; a request (an API call, a browser preview or
    its confirmation, a run of the command) takes up to 50 files, and 50 logs each just within the
    limits cost 50 times the work. Every file of one request draws on one of these, as its values
    stream; once it runs out, the file being read is refused and the files after it are not read.
    """

    def __init__(self) -> None:
        self.limit = limit("IMPORT_MAX_REQUEST_JSON_VALUES")
        self.values = self.limit
        self.exhausted = False

    def spend(self, values: int) -> None:
        self.values -= values
        if self.values < 0:
            self.exhausted = True
            raise InspectLogError(
                f"The files of this request hold more than {self.limit:,} JSON values in the parts riskreg reads "
                "(IMPORT_MAX_REQUEST_JSON_VALUES); refused while reading this file, and nothing of it was written. "
                "Import it, and the files after it, separately."
            )

    def before_reading(self) -> None:
        """Refuse a file unread once the budget has run out."""
        if self.exhausted:
            raise InspectLogError(
                f"Not read: the files before it used up this request's {self.limit:,} JSON values "
                "(IMPORT_MAX_REQUEST_JSON_VALUES); nothing of it was written. Import it separately."
            )


class _Budget:
    """What reading one log may still cost, shared by every part of it: bytes unpacked, JSON values parsed
    (and, if given, what its request may still parse)."""

    def __init__(self, request: RequestBudget | None = None) -> None:
        self.bytes = limit("IMPORT_MAX_UNPACKED_BYTES")
        self.values = limit("IMPORT_MAX_JSON_VALUES")
        self.request = request

_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")


class _JsonStream:
    """JSON read from a binary stream a value at a time, never holding more than one value.

    `value(cap)` parses the next complete value if its text is at most `cap` characters; `items()`
    and `elements()` walk an object's keys or an array's elements without parsing the whole.
    """

    def __init__(self, binary: _Reader, where: str, budget: "_Budget", part_values: int | None = None) -> None:
        self.binary, self.where, self.budget = binary, where, budget  # shared by every part of one log
        self.part_values = part_values  # the JSON values this part may hold (None: only the log's budget)
        self.values = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.eof = "", 0, False

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.binary.read(CHUNK)
        self.budget.bytes -= len(chunk)
        if self.budget.bytes < 0:
            raise InspectLogError(f"The log unpacks to more than {_size(limit('IMPORT_MAX_UNPACKED_BYTES'))} "
                                  "in the parts riskreg reads (IMPORT_MAX_UNPACKED_BYTES); refused.")  # fmt: skip
        self._count(chunk)
        try:
            text = self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise InspectLogError(f"{self.where} is not UTF-8 text.") from None
        if self.pos > CHUNK:
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += text
        self.eof = not chunk
        return True

    def _count(self, chunk: bytes) -> None:
        """Count the JSON values in `chunk` before any of it is parsed, and refuse past the limits.

        Parsing costs by the value, not by the byte: `{}` is 3 bytes of a `[{},{},…]` but a dict to
        build, and a 22 KB .eval unpacked to 82 million of them within every byte limit (110 s of CPU
        per request). Every value but the first of its array or object follows a `,`, and every array
        or object opens with `[` or `{`, so these three bytes count at least the values the chunk holds
        (ones inside strings too: an upper bound, at C speed, with no parsing)."""
        values = chunk.count(b",") + chunk.count(b"{") + chunk.count(b"[")
        self.values += values
        self.budget.values -= values
        if self.part_values is not None and self.values > self.part_values:
            raise InspectLogError(f"{self.where} holds more than {self.part_values:,} JSON values "
                                  "(IMPORT_MAX_PART_JSON_VALUES); refused: no Inspect log's part needs that "
                                  "much work to read.")  # fmt: skip
        if self.budget.values < 0:
            raise InspectLogError(f"The log holds more than {limit('IMPORT_MAX_JSON_VALUES'):,} JSON values in "
                                  "the parts riskreg reads (IMPORT_MAX_JSON_VALUES); refused: no Inspect log "
                                  "needs that much work to read.")  # fmt: skip
        if self.budget.request is not None:
            self.budget.request.spend(values)

    def _peek(self) -> str:
        while True:
            found = _NOT_WHITESPACE.search(self.buf, self.pos)
            if found is not None:
                self.pos = found.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if not self._more():
                return ""

    def _take(self, char: str) -> None:
        if self._peek() != char:
            found = self._peek() or "the end of the file"
            raise InspectLogError(f"{self.where} is not valid JSON (expected {char!r}, found {found!r}).")
        self.pos += 1

    def value(self, cap: int, what: str) -> Any:
        self._peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as error:
                if len(self.buf) - self.pos > cap:
                    raise InspectLogError(self._too_large(what, cap)) from None
                if not self._more():
                    raise InspectLogError(f"{self.where} is not valid JSON ({error.msg}).") from None
                continue
            except RecursionError:
                raise InspectLogError(f"{self.where} is nested too deeply to be an Inspect log.") from None
            except ValueError as error:  # e.g. an integer of more digits than Python converts
                raise InspectLogError(f"{self.where} holds a value riskreg cannot read ({str(error)[:80]}).") from None
            if end - self.pos > cap:
                raise InspectLogError(self._too_large(what, cap))
            if end == len(self.buf) and not isinstance(obj, (dict, list, str)) and self._more():
                continue  # a number (or literal) at the end of the buffer may go on in the next chunk
            self.pos = end
            return obj

    def _too_large(self, what: str, cap: int) -> str:
        hint = (" Convert the log (inspect log convert --to eval) and import the .eval file, whose summaries are "
                "thinned." if self.where == "The file" else "")  # fmt: skip
        return f"{what} in {self.where} is larger than {_size(cap)} of JSON; riskreg reads logs within a fixed " \
               f"memory budget.{hint}"

    def elements(self) -> Iterator[None]:
        """The positions of an array's elements: after each yield, the caller reads one value."""
        self._take("[")
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            yield
            char = self._peek()
            self.pos += 1
            if char == "]":
                return
            if char != ",":
                raise InspectLogError(f"{self.where} is not valid JSON (expected ',' or ']' in an array).")

    def items(self) -> Iterator[str]:
        """An object's keys, one at a time: after each, the caller reads (or skips) its value."""
        self._take("{")
        if self._peek() == "}":
            self.pos += 1
            return
        while True:
            if self._peek() != '"':
                raise InspectLogError(f"{self.where} is not valid JSON (expected a key in an object).")
            key = self.value(64 * 1024, "A key")
            self._take(":")
            yield key
            char = self._peek()
            self.pos += 1
            if char == "}":
                return
            if char != ",":
                raise InspectLogError(f"{self.where} is not valid JSON (expected ',' or '}}' in an object).")

    def end(self) -> None:
        if self._peek() != "":
            raise InspectLogError(f"{self.where} is not valid JSON (text after the end of the log).")


_size = size_in_words


# A few random input/output samples per run, for the model report (GPAI Code measure 7.3): chosen by
# reservoir sampling as the samples stream past, with a fixed seed so one log always gives the same ones,
# each text cut to a bounded excerpt.
SAMPLES_KEPT = 3
SAMPLE_SEED = 19
EXCERPT = 1000


def _object(value: object) -> dict:
    """A JSON object as it is, anything else as an empty one."""
    return value if isinstance(value, dict) else {}


def _text_of(value: object) -> str:
    """A sample's input, target or output as plain text: a string, or the text parts of chat messages."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                content = item.get("content", item.get("text", ""))
                parts.append(content if isinstance(content, str) else _text_of(content))
        return "\n".join(part for part in parts if part)
    return ""


def _excerpt(value: object) -> str:
    text = _text_of(value).strip()
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _output_of(row: dict) -> str:
    output = row.get("output")
    if not isinstance(output, dict):
        return ""
    if isinstance(output.get("completion"), str) and output["completion"]:
        return _excerpt(output["completion"])
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        return _excerpt(message.get("content") if isinstance(message, dict) else "")
    return ""


def sample_excerpt(row: object) -> dict | None:
    if not isinstance(row, dict):
        return None
    scores = _object(row.get("scores"))
    return {
        "id": str(row.get("id", ""))[:100], "epoch": row.get("epoch") if isinstance(row.get("epoch"), int) else None,
        "input": _excerpt(row.get("input")), "target": _excerpt(row.get("target")), "output": _output_of(row),
        "scores": {str(name)[:60]: score.get("value") for name, score in list(scores.items())[:5]
                   if isinstance(score, dict) and isinstance(score.get("value"), (str, int, float, bool))},
    }  # fmt: skip


class _Samples:
    """Counts samples and errored samples as they stream past, within the sample limit, and keeps a few."""

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.kept: list[dict] = []
        self._random = random.Random(SAMPLE_SEED)

    def read(self, stream: _JsonStream, cap: int, what: str = "samples") -> None:
        for _ in stream.elements():
            row = stream.value(cap, "A sample")
            self.count += 1
            if self.count > limit("IMPORT_MAX_SAMPLES"):
                raise InspectLogError(f"The log lists more than {limit('IMPORT_MAX_SAMPLES'):,} {what} "
                                      "(IMPORT_MAX_SAMPLES); refused.")  # fmt: skip
            if isinstance(row, dict) and row.get("error"):
                self.errors += 1
            if what == "samples":
                self._keep(row)

    def _keep(self, row: object) -> None:
        """Reservoir sampling: each sample seen so far is kept with the same chance."""
        if len(self.kept) < SAMPLES_KEPT:
            excerpt = sample_excerpt(row)
            if excerpt is not None:
                self.kept.append(excerpt)
            return
        slot = self._random.randrange(self.count)
        if slot < SAMPLES_KEPT:
            excerpt = sample_excerpt(row)
            if excerpt is not None:
                self.kept[slot] = excerpt


# Called with a log's `eval` section as soon as it is read, before its samples: it may refuse the
# log there (the service refuses a log of another model than the snapshot's from its header).
HeaderCheck = Callable[[object], None]


def _read_json_log(file: IO[bytes], budget: _Budget, check: HeaderCheck | None) -> tuple[dict, _Samples]:
    """A .json log's header sections, and its samples counted as they stream past.

    Inspect writes `eval` before `samples` (version, status, eval, plan, results, stats, …), so
    `check` sees it before the samples are read; a log written in another order is checked when its
    `eval` comes."""
    file.seek(0)
    stream = _JsonStream(file, "The file", budget)
    if stream._peek() != "{":
        raise InspectLogError("The file is JSON but not an Inspect log (expected an object).")
    header: dict[str, Any] = {}
    samples = _Samples()
    left = limit("IMPORT_MAX_HEADER_BYTES")
    for key in stream.items():
        if key == "samples" and stream._peek() == "[":
            samples.read(stream, limit("IMPORT_MAX_SAMPLE_BYTES"))
            header["_has_samples"] = True
        elif key == "reductions" and stream._peek() == "[":
            reductions = _Samples()
            reductions.read(stream, limit("IMPORT_MAX_SAMPLE_BYTES"), what="reductions")
        else:
            start = stream.pos
            value = stream.value(left, "The log's header")
            left -= stream.pos - start
            if key in HEADER_KEYS:
                header[key] = value
            if key == "eval" and check is not None:
                check(value)
    stream.end()
    return header, samples


# -- .eval zips ----------------------------------------------------------------------------------


def _member_count(file: IO[bytes]) -> int | None:
    """The number of members in a zip's central directory, counted by walking its entries before the
    zip is opened — never trusting the count its end record states — and stopping past the limit, so a
    directory of millions of entries is refused before zipfile reads it into memory."""
    file.seek(0, 2)
    size = file.tell()
    tail_size = min(size, 65536 + 22)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    directory_size = struct.unpack("<I", tail[at + 12 : at + 16])[0]
    end_record = size - tail_size + at
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    if locator >= 0 and at - locator == 20:  # Zip64: the sizes are in the Zip64 end record before the locator
        file.seek(end_record - 20 - 56)
        record = file.read(56)
        if record[:4] == b"PK\x06\x06":
            directory_size = struct.unpack("<Q", record[40:48])[0]
            end_record -= 20 + 56
    if directory_size > limit("IMPORT_MAX_MEMBERS") * 330:
        raise InspectLogError(f"The .eval archive's directory is {_size(directory_size)}; riskreg reads archives of "
                              f"at most {limit('IMPORT_MAX_MEMBERS'):,} parts (IMPORT_MAX_MEMBERS).")  # fmt: skip
    # Where zipfile reads the directory: just before the end record(s), whatever offset the record states.
    start = end_record - directory_size
    file.seek(start)
    count, walked, most = 0, 0, limit("IMPORT_MAX_MEMBERS")
    while walked + 46 <= directory_size:
        header = file.read(46)
        if len(header) < 46 or header[:4] != b"PK\x01\x02":
            break
        name, extra, comment = struct.unpack("<HHH", header[28:34])
        file.seek(name + extra + comment, 1)
        walked += 46 + name + extra + comment
        count += 1
        if count > most:
            break
    file.seek(0)
    return count

class _Member:
    """One member of the zip, read with its declared and its real unpacked size bounded."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        info = archive.getinfo(name)
        cap = limit("IMPORT_MAX_MEMBER_BYTES")
        if info.file_size > cap:
            raise InspectLogError(f"{name} would unpack to {_size(info.file_size)}; the limit is "
                                  f"{_size(cap)} per part (IMPORT_MAX_MEMBER_BYTES).")  # fmt: skip
        self.name, self.cap, self.read_bytes = name, cap, 0
        self.handle = archive.open(info)

    def read(self, size: int) -> bytes:
        data = self.handle.read(size)
        self.read_bytes += len(data)
        if self.read_bytes > self.cap:  # a member that lies about its size changes nothing
            raise InspectLogError(f"{self.name} unpacks to more than {_size(self.cap)}; refused.")
        return data

    def close(self) -> None:
        self.handle.close()


def _member_json(archive: zipfile.ZipFile, name: str, budget: _Budget, cap: int, what: str) -> Any:
    member = _Member(archive, name)
    try:
        stream = _JsonStream(member, name, budget, limit("IMPORT_MAX_PART_JSON_VALUES"))
        value = stream.value(cap, what)
        stream.end()
        return value
    finally:
        member.close()


def _member_samples(archive: zipfile.ZipFile, name: str, budget: _Budget, samples: _Samples) -> None:
    member = _Member(archive, name)
    try:
        stream = _JsonStream(member, name, budget, limit("IMPORT_MAX_PART_JSON_VALUES"))
        if stream._peek() == "[":
            samples.read(stream, limit("IMPORT_MAX_SAMPLE_BYTES"))
        else:
            stream.value(limit("IMPORT_MAX_SAMPLE_BYTES"), "The summaries")
        stream.end()
    finally:
        member.close()


def _outputs(archive: zipfile.ZipFile, names: set[str], budget: _Budget, kept: list[dict]) -> None:
    """A summary holds no output: read it from the kept samples' own files, within the same budgets."""
    for excerpt in kept:
        name = f"samples/{excerpt['id']}_epoch_{excerpt['epoch']}.json"
        if excerpt["output"] or name not in names:
            continue
        row = _member_json(archive, name, budget, limit("IMPORT_MAX_SAMPLE_BYTES"), "A sample")
        excerpt["output"] = _output_of(row) if isinstance(row, dict) else ""


def _read_eval(file: IO[bytes], budget: _Budget, check: HeaderCheck | None) -> tuple[dict, _Samples]:
    """The parts of a .eval zip the importer needs, as a log-shaped dict, and its samples counted."""
    try:
        count = _member_count(file)
    except (OSError, struct.error, ValueError) as error:
        if isinstance(error, InspectLogError):
            raise
        count = None
    if count is not None and count > limit("IMPORT_MAX_MEMBERS"):
        raise InspectLogError(f"The .eval archive has more than {limit('IMPORT_MAX_MEMBERS'):,} parts; riskreg "
                              "reads archives of at most that many (IMPORT_MAX_MEMBERS).")  # fmt: skip
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, stdlib_zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise InspectLogError("The .eval file is not a readable zip archive (truncated or corrupt?).") from None
    header_cap = limit("IMPORT_MAX_HEADER_BYTES")
    samples = _Samples()
    with archive:
        if len(archive.infolist()) > limit("IMPORT_MAX_MEMBERS"):
            raise InspectLogError(f"The .eval archive has more than {limit('IMPORT_MAX_MEMBERS'):,} parts; refused.")
        names = set(archive.namelist())
        try:
            if "header.json" in names:
                log = _member_json(archive, "header.json", budget, header_cap, "The header")
                if not isinstance(log, dict):
                    raise InspectLogError("header.json is not a JSON object.")
                if check is not None:
                    check(log.get("eval"))
                if "summaries.json" in names:
                    _member_samples(archive, "summaries.json", budget, samples)
                    log["_has_samples"] = True
                    _outputs(archive, names, budget, samples.kept)
                return log, samples
            if "_journal/start.json" in names:
                # Crashed or still running: no header yet. Inspect reports such a log as "started".
                start = _member_json(archive, "_journal/start.json", budget, header_cap, "The start record")
                if not isinstance(start, dict):
                    raise InspectLogError("_journal/start.json is not a JSON object.")
                if check is not None:
                    check(start.get("eval"))
                for name in sorted(n for n in names if n.startswith("_journal/summaries/")):
                    _member_samples(archive, name, budget, samples)
                return {**start, "status": "started", "stats": {}, "_has_samples": True}, samples
        except UNPACK_ERRORS as error:
            raise InspectLogError(f"A part of the .eval archive cannot be unpacked ({error}); the file is corrupt "
                                  "or truncated.") from None
        except NotImplementedError:
            raise InspectLogError("The .eval archive uses a compression riskreg cannot read.") from None
    raise InspectLogError("The zip holds neither header.json nor _journal/start.json: not an Inspect .eval log.")


# -- interpretation ------------------------------------------------------------------------------


def _date(value: object, warnings: list[str], what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # stored in UTC: a date at the edge of the calendar cannot be
        return parsed
    except (ValueError, OverflowError):
        warnings.append(f"{what} {str(value)[:60]!r} is not an ISO date riskreg can store; left empty.")
        return None


def _number(value: object, warnings: list[str], where: str) -> float | None:
    """A metric value as a finite float; NaN and infinities become None, with a warning."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        warnings.append(f"{where} is {value} in the log; recorded as empty.")
        return None
    return float(value)


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _scores(results: dict, warnings: list) -> list[_Score]:
    scores, count = [], [0]
    entries = results.get("scores")
    if entries is None and "metrics" in results:  # legacy single-scorer shape
        legacy = results.get("scorer")
        name = legacy.get("name", "score") if isinstance(legacy, dict) else "score"
        entries = [{"name": name, "scorer": name, "metrics": results["metrics"]}]
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name") or entry.get("scorer") or "score")
        scorer = str(entry.get("scorer") or name)
        reducer = _text(entry.get("reducer"))
        metrics = {}
        raw = entry.get("metrics") or {}
        items = raw.items() if isinstance(raw, dict) else ((m.get("name"), m) for m in raw if isinstance(m, dict))
        for key, metric in items:
            if len(str(key)) > 200:
                raise InspectLogError(f"A metric name of {len(str(key)):,} characters; riskreg keeps names of at "
                                      "most 200.")  # fmt: skip
            count[0] += 1
            if count[0] > limit("IMPORT_MAX_METRICS"):
                raise InspectLogError(f"The log reports more than {limit('IMPORT_MAX_METRICS'):,} metrics "
                                      "(IMPORT_MAX_METRICS); refused.")  # fmt: skip
            value = metric.get("value") if isinstance(metric, dict) else metric
            group = _text(metric.get("group")) if isinstance(metric, dict) else None
            label = Metric(scorer, name, reducer, str(key), group, None).name
            metrics[str(key)] = (_number(value, warnings, label), group, value)
        scores.append(_Score(name, scorer, reducer, metrics))
    return scores


def _declared(results: dict, evaluation: dict) -> dict | None:
    declared = results.get("headline") or evaluation.get("headline_metric")
    return declared if isinstance(declared, dict) else None


def _resolve_headline(scores: list[_Score], declared: dict | None, warnings: list) -> tuple[_Score, str] | None:
    """inspect_ai.log._headline.resolve_headline_metric, field for field."""
    if not scores:
        return None
    if declared:
        candidates = scores
        for key, of in (("reducer", "reducer"), ("scorer", "scorer"), ("score", "name")):
            wanted = declared.get(key)
            if wanted is None:
                continue
            candidates = [score for score in candidates if getattr(score, of) == wanted]
            if not candidates:
                warnings.append(f"The log's headline {key} {wanted!r} is not in its results; as Inspect does, the "
                                "first metric of the first score is the headline instead.")  # fmt: skip
                break
        else:
            wanted = declared.get("metric")
            if wanted is None and candidates[0].metrics:
                return candidates[0], next(iter(candidates[0].metrics))
            if wanted is None:  # Inspect: nothing there, so the first metric of the first score
                candidates = []
            for score in candidates:
                if wanted is not None and wanted in score.metrics:
                    return score, wanted
            if wanted is not None:
                warnings.append(f"The log's headline metric {wanted!r} is not in its results; as Inspect does, the "
                            "first metric of the first score is the headline instead.")  # fmt: skip
    first = scores[0]
    return (first, next(iter(first.metrics))) if first.metrics else None


def _require(mapping: dict, key: str, where: str) -> Any:
    value = mapping.get(key)
    if value in (None, ""):
        raise InspectLogError(f"The log has no {where}{key} — a required field.")
    return value


def _finite_json(value: Any, depth: int = 0) -> Any:
    """A JSON value PostgreSQL's jsonb accepts: NaN and infinities become null."""
    if depth > 50:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_json(v, depth + 1) for v in value]
    return value


def _kept(value: Any, kind: type[dict] | type[list], warnings: list[str], what: str) -> Any:
    """A provenance section as stored: of the expected kind, finite, and at most 64 KB."""
    if not isinstance(value, kind):
        return kind()
    value = _finite_json(value)
    if len(json.dumps(value, default=str)) > 64 * 1024:
        warnings.append(f"{what} is larger than 64 KB; it is kept in the attached log, not in the record.")
        return {"_omitted": "larger than 64 KB; see the attached log"} if kind is dict else []
    return value


def interpret(log: Any, samples: "_Samples | None" = None) -> InspectLog:
    """The log's header (and counted samples) as an InspectLog; InspectLogError for anything else."""
    try:
        return _interpret(log, samples or _Samples())
    except InspectLogError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError, RecursionError) as error:
        # A section of the wrong type where Inspect writes an object, a list or a number.
        detail = str(error)[:120]
        kind = type(error).__name__
        raise InspectLogError(f"The log does not have the shape Inspect writes ({kind}: {detail}).") from None


def _interpret(log: Any, samples: _Samples) -> InspectLog:
    if not isinstance(log, dict):
        raise InspectLogError("The file is JSON but not an Inspect log (expected an object).")
    if "version" not in log or "eval" not in log:
        raise InspectLogError("The file is JSON but not an Inspect log (no 'version' and 'eval').")
    version = log["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise InspectLogError(f"The log's format version {version!r} is not a number.")
    if version > SUPPORTED_VERSION or version < 1:
        raise InspectLogError(
            f"Inspect log format version {version} is not supported (riskreg reads up to {SUPPORTED_VERSION})."
        )
    evaluation = log["eval"]
    if not isinstance(evaluation, dict):
        raise InspectLogError("The log's 'eval' section is not an object.")
    status = log.get("status", "started")
    if status not in STATUSES:
        raise InspectLogError(f"Unknown log status {status!r} (expected one of {', '.join(sorted(STATUSES))}).")
    for key, kinds in (("eval_id", str), ("task", str), ("task_version", (int, str)), ("model", (str, type(None)))):
        if key in evaluation and (not isinstance(evaluation[key], kinds) or isinstance(evaluation[key], bool)):
            raise InspectLogError(f"The log's eval.{key} is a {type(evaluation[key]).__name__}, not what Inspect "
                                  "writes.")  # fmt: skip
    config = _object(evaluation.get("config"))
    epochs = config.get("epochs", 1)
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
        raise InspectLogError(f"The log's eval.config.epochs is {str(epochs)[:40]!r}, not a positive whole number.")
    warnings: list[str] = []
    stats = log.get("stats") or {}
    results = log.get("results") or {}
    if not isinstance(stats, dict) or not isinstance(results, dict):
        raise InspectLogError("The log's 'stats' or 'results' section is not an object.")

    scores = _scores(results, warnings)
    resolved = _resolve_headline(scores, _declared(results, evaluation), warnings)
    headline = stderr = None
    if resolved is not None:
        score, key = resolved
        value, group, raw = score.metrics[key]
        headline = Metric(score.scorer, score.name, score.reducer, key, group, value)
        if "stderr" in score.metrics:
            stderr = score.metrics["stderr"][0]
        if status == "success" and isinstance(raw, float) and not math.isfinite(raw):
            raise InspectLogError(
                f"The headline metric {headline.name} is {raw} (bare NaN or Infinity in the log): riskreg "
                "records no guessed score. Fix the log or report the run by hand."
            )
    metrics = [Metric(s.scorer, s.name, s.reducer, k, g, v) for s in scores for k, (v, g, _) in s.metrics.items()]

    error = log.get("error") or {}
    dataset = _object(evaluation.get("dataset"))
    reducer = config.get("epochs_reducer")
    tags = sorted({str(t) for t in (evaluation.get("tags") or []) + (log.get("tags") or []) if isinstance(t, str)})
    roles = _object(evaluation.get("model_roles"))
    usage = _object(stats.get("model_usage"))
    return InspectLog(
        log_version=version,
        status=status,
        eval_id=str(_require(evaluation, "eval_id", "eval.")),
        run_id=str(evaluation.get("run_id") or ""),
        task=str(_require(evaluation, "task", "eval.")),
        task_version=str(evaluation.get("task_version", 0)),
        model=str(evaluation.get("model") or ""),
        producer_version=str((evaluation.get("packages") or {}).get("inspect_ai", "")),
        created=_date(evaluation.get("created"), warnings, "eval.created"),
        started_at=_date(stats.get("started_at"), warnings, "stats.started_at"),
        completed_at=_date(stats.get("completed_at"), warnings, "stats.completed_at"),
        dataset=str(dataset.get("name") or ""),
        epochs=int(config.get("epochs") or 1),
        total_samples=results.get("total_samples") if isinstance(results.get("total_samples"), int) else None,
        completed_samples=results.get("completed_samples")
        if isinstance(results.get("completed_samples"), int)
        else None,
        sample_errors=samples.errors,
        samples=list(samples.kept) if samples is not None else [],
        metrics=metrics,
        headline=headline,
        headline_stderr=stderr,
        error_message=str(error.get("message") or "") if isinstance(error, dict) else str(error),
        eval_set_id=str(evaluation.get("eval_set_id") or ""),
        task_id=str(evaluation.get("task_id") or ""),
        dataset_samples=dataset.get("samples") if isinstance(dataset.get("samples"), int) else None,
        epochs_reducer=[str(r) for r in reducer] if isinstance(reducer, list) else [],
        model_roles=_kept(roles, dict, warnings, "eval.model_roles"),
        generate_config=_kept(evaluation.get("model_generate_config"), dict, warnings, "eval.model_generate_config"),
        tags=_kept(tags, list, warnings, "tags"),
        task_metadata=_kept(evaluation.get("metadata"), dict, warnings, "eval.metadata"),
        model_usage=_kept(usage, dict, warnings, "stats.model_usage"),
        warnings=warnings,
    )


def read_log(file: IO[bytes], name: str, *, budget: RequestBudget | None = None,
             check: HeaderCheck | None = None) -> InspectLog:  # fmt: skip
    """Read an Inspect log from a seekable binary file; `name` tells the format by its extension.

    `budget`: the JSON values the request this file belongs to may still parse (it is refused unread if
    none are left). `check`: called with the log's `eval` section before its samples are read."""
    if budget is not None:
        budget.before_reading()
    suffix = PurePath(name).suffix.lower()
    if suffix == ".eval":
        return interpret(*_read_eval(file, _Budget(budget), check))
    if suffix == ".json":
        return interpret(*_read_json_log(file, _Budget(budget), check))
    raise InspectLogError(f"'{name}' is neither a .json nor an .eval Inspect log.")


# -- eval sets -----------------------------------------------------------------------------------

LISTING_NAMES = {"logs.json", "eval-set.json"}


@dataclass
class EvalSetListing:
    """What an eval-set folder's `logs.json` and `eval-set.json` say its members are."""

    eval_set_id: str = ""
    log_names: list[str] = field(default_factory=list)  # from logs.json, in its order
    tasks: list[dict] = field(default_factory=list)  # from eval-set.json: task_id, name, model


def read_listing(file: IO[bytes], name: str, listing: EvalSetListing, budget: RequestBudget | None = None) -> None:
    """Add what `logs.json` (its keys) or `eval-set.json` (its id and tasks) says to `listing`."""
    stream = _JsonStream(file, name, _Budget(budget))
    if stream._peek() != "{":
        raise InspectLogError(f"{name} is not a JSON object: not an Inspect eval-set listing.")
    if PurePath(name).name == "logs.json":
        for key in stream.items():
            stream.value(limit("IMPORT_MAX_HEADER_BYTES"), "A log's header")
            if len(listing.log_names) >= limit("IMPORT_MAX_MEMBERS"):
                raise InspectLogError(f"{name} lists more than {limit('IMPORT_MAX_MEMBERS'):,} logs; refused.")
            listing.log_names.append(str(key))
    else:
        data = stream.value(limit("IMPORT_MAX_HEADER_BYTES"), "The eval-set record")
        tasks = data.get("tasks") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("eval_set_id", ""), str) or not isinstance(
            tasks or [], list
        ):
            raise InspectLogError(f"{name} is not an Inspect eval-set record (eval_set_id and a list of tasks).")
        listing.eval_set_id = data.get("eval_set_id") or ""
        for task in tasks or []:
            if isinstance(task, dict):
                listing.tasks.append({k: str(task.get(k) or "") for k in ("task_id", "name", "model")})
    stream.end()
