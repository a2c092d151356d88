"""Read UK AISI Inspect evaluation logs (`.json` and `.eval`) without depending on inspect-ai.

`read_log(file, name)` returns an `InspectLog` with what riskreg records, or raises
`InspectLogError` with a message a person understands. It reads only what it needs: for `.eval`
zips, `header.json` (or, for a crashed run, `_journal/start.json` and the journal summaries) and
`summaries.json`; never the full samples. Sizes are bounded before anything is decompressed, so
a zip bomb or a huge file is refused, not read.
"""

import json
import math
import zipfile as stdlib_zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath

try:  # Zstandard members (inspect-ai 0.3.206 and later); Python 3.14's zipfile reads them natively
    from backports.zstd import zipfile
except ImportError:  # pragma: no cover - Python 3.14+
    import zipfile

SUPPORTED_VERSION = 2
STATUSES = {"success", "error", "cancelled", "started"}
# The parts of a .eval zip riskreg reads, and how large each may be once decompressed.
MAX_MEMBER_BYTES = 64 * 1024 * 1024


class InspectLogError(ValueError):
    """The file is not a log riskreg can record; the message says why."""


@dataclass
class ScorerMetrics:
    name: str
    metrics: dict  # metric name → number or None


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
    scores: list[ScorerMetrics]
    headline_scorer: str = ""
    headline_metric: str = ""
    headline_value: float | None = None
    headline_stderr: float | None = None
    error_message: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    def metrics_as_json(self) -> list[dict]:
        return [{"scorer": s.name, "metrics": s.metrics} for s in self.scores]


# -- low-level reading ---------------------------------------------------------------------------


def _json(raw: bytes, where: str):
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InspectLogError(f"{where} is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise InspectLogError(f"{where} is not valid JSON ({error.msg} at line {error.lineno}).") from None
    except RecursionError:
        raise InspectLogError(f"{where} is nested too deeply to be an Inspect log.") from None


def _read_member(archive, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise InspectLogError(f"{name} would unpack to {info.file_size / 1e6:.0f} MB; the limit is "
                              f"{MAX_MEMBER_BYTES / 1e6:.0f} MB per part.")  # fmt: skip
    with archive.open(info) as member:
        data = member.read(MAX_MEMBER_BYTES + 1)  # a header that lies about its size changes nothing
    if len(data) > MAX_MEMBER_BYTES:
        raise InspectLogError(f"{name} unpacks to more than {MAX_MEMBER_BYTES / 1e6:.0f} MB; refused.")
    return data


def _open_eval(file) -> dict:
    """The parts of a .eval zip the importer needs, as a log-shaped dict (without samples)."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, stdlib_zipfile.BadZipFile, EOFError, OSError):
        raise InspectLogError("The .eval file is not a readable zip archive (truncated or corrupt?).") from None
    with archive:
        names = set(archive.namelist())
        try:
            if "header.json" in names:
                log = _json(_read_member(archive, "header.json"), "header.json")
                if not isinstance(log, dict):
                    raise InspectLogError("header.json is not a JSON object.")
                if "summaries.json" in names:
                    log["_summaries"] = _json(_read_member(archive, "summaries.json"), "summaries.json")
                return log
            if "_journal/start.json" in names:
                # Crashed or still running: no header yet. Inspect reports such a log as "started".
                start = _json(_read_member(archive, "_journal/start.json"), "_journal/start.json")
                if not isinstance(start, dict):
                    raise InspectLogError("_journal/start.json is not a JSON object.")
                summaries = []
                for name in sorted(n for n in names if n.startswith("_journal/summaries/")):
                    part = _json(_read_member(archive, name), name)
                    summaries += part if isinstance(part, list) else []
                return {**start, "status": "started", "_summaries": summaries, "stats": {}}
        except (zipfile.BadZipFile, stdlib_zipfile.BadZipFile, EOFError, OSError, RuntimeError) as error:
            raise InspectLogError(f"A part of the .eval archive cannot be unpacked ({error}).") from None
        except NotImplementedError:
            raise InspectLogError("The .eval archive uses a compression riskreg cannot read.") from None
    raise InspectLogError("The zip holds neither header.json nor _journal/start.json: not an Inspect .eval log.")


# -- interpretation ------------------------------------------------------------------------------


def _date(value, warnings: list, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        warnings.append(f"{what} {value!r} is not an ISO date; left empty.")
        return None


def _number(value, warnings: list, where: str) -> float | None:
    """A metric value as a finite float; NaN and infinities become None, with a warning."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        warnings.append(f"{where} is {value} in the log; recorded as empty.")
        return None
    return float(value)


def _scores(results: dict, warnings: list) -> list[ScorerMetrics]:
    scores = []
    entries = results.get("scores")
    if entries is None and "metrics" in results:  # legacy single-scorer shape
        entries = [{"name": results.get("scorer", {}).get("name", "score"), "metrics": results["metrics"]}]
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name") or entry.get("scorer") or "score")
        metrics = {}
        raw = entry.get("metrics") or {}
        items = raw.items() if isinstance(raw, dict) else ((m.get("name"), m) for m in raw if isinstance(m, dict))
        for metric_name, metric in items:
            value = metric.get("value") if isinstance(metric, dict) else metric
            metrics[str(metric_name)] = _number(value, warnings, f"{name}/{metric_name}")
        scores.append(ScorerMetrics(name, metrics))
    return scores


def _require(mapping: dict, key: str, where: str):
    value = mapping.get(key)
    if value in (None, ""):
        raise InspectLogError(f"The log has no {where}{key} — a required field.")
    return value


def interpret(log) -> InspectLog:
    """The log's header and summaries as an InspectLog; InspectLogError for anything else."""
    try:
        return _interpret(log)
    except InspectLogError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError, RecursionError) as error:
        # A section of the wrong type where Inspect writes an object, a list or a number.
        detail = str(error)[:120]
        kind = type(error).__name__
        raise InspectLogError(f"The log does not have the shape Inspect writes ({kind}: {detail}).") from None


def _interpret(log) -> InspectLog:
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
    warnings: list[str] = []
    stats = log.get("stats") or {}
    results = log.get("results") or {}
    if not isinstance(stats, dict) or not isinstance(results, dict):
        raise InspectLogError("The log's 'stats' or 'results' section is not an object.")

    scores = _scores(results, warnings)
    headline = results.get("headline") or {}
    headline_scorer = str(headline.get("scorer") or (scores[0].name if scores else ""))
    headline_metric = str(headline.get("metric") or "")
    chosen = next((s for s in scores if s.name == headline_scorer), scores[0] if scores else None)
    value = stderr = None
    if chosen is not None:
        if not headline_metric:
            headline_metric = "accuracy" if "accuracy" in chosen.metrics else next(iter(chosen.metrics), "")
        value = chosen.metrics.get(headline_metric)
        stderr = chosen.metrics.get("stderr")
        raw_value = _raw_metric(results, chosen.name, headline_metric)
        if status == "success" and isinstance(raw_value, float) and not math.isfinite(raw_value):
            raise InspectLogError(
                f"The headline metric {chosen.name}/{headline_metric} is {raw_value} (bare NaN or Infinity in the "
                "log): riskreg records no guessed score. Fix the log or report the run by hand."
            )

    samples = log.get("samples")
    summaries = log.get("_summaries")
    rows = samples if isinstance(samples, list) else summaries if isinstance(summaries, list) else []
    sample_errors = sum(1 for row in rows if isinstance(row, dict) and row.get("error"))
    error = log.get("error") or {}
    dataset = evaluation.get("dataset") or {}
    config = evaluation.get("config") or {}
    model = evaluation.get("model")
    return InspectLog(
        log_version=version,
        status=status,
        eval_id=str(_require(evaluation, "eval_id", "eval.")),
        run_id=str(evaluation.get("run_id") or ""),
        task=str(_require(evaluation, "task", "eval.")),
        task_version=str(evaluation.get("task_version", 0)),
        model=str(model or ""),
        producer_version=str((evaluation.get("packages") or {}).get("inspect_ai", "")),
        created=_date(evaluation.get("created"), warnings, "eval.created"),
        started_at=_date(stats.get("started_at"), warnings, "stats.started_at"),
        completed_at=_date(stats.get("completed_at"), warnings, "stats.completed_at"),
        dataset=str(dataset.get("name") or "") if isinstance(dataset, dict) else "",
        epochs=int(config.get("epochs") or 1) if isinstance(config, dict) else 1,
        total_samples=results.get("total_samples") if isinstance(results.get("total_samples"), int) else None,
        completed_samples=results.get("completed_samples")
        if isinstance(results.get("completed_samples"), int)
        else None,
        sample_errors=sample_errors,
        scores=scores,
        headline_scorer=headline_scorer if chosen else "",
        headline_metric=headline_metric if chosen else "",
        headline_value=value,
        headline_stderr=stderr,
        error_message=str(error.get("message") or "") if isinstance(error, dict) else str(error),
        warnings=warnings,
    )


def _raw_metric(results, scorer, metric):
    for entry in results.get("scores") or []:
        if isinstance(entry, dict) and (entry.get("name") or entry.get("scorer")) == scorer:
            found = (entry.get("metrics") or {}).get(metric) if isinstance(entry.get("metrics"), dict) else None
            return found.get("value") if isinstance(found, dict) else found
    return None


def read_log(file, name: str) -> InspectLog:
    """Read an Inspect log from a seekable binary file; `name` tells the format by its extension."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".eval":
        return interpret(_open_eval(file))
    if suffix == ".json":
        file.seek(0)
        return interpret(_json(file.read(), "The file"))
    raise InspectLogError(f"'{name}' is neither a .json nor an .eval Inspect log.")
