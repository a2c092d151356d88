"""Recording an Inspect log: one evaluation, its ImportedRun provenance, and the log as evidence.

Everything of one import is written in one transaction; a refused file writes nothing, not even
its evidence file. A log whose eval_id is already recorded changes nothing, with one exception: a
run recorded while unfinished (status `started`) is brought up to date by a later state of the same
run (a finished log, or a later copy of the running one). The update is an ordinary change of the
evaluation, with a reason, a history row and an audit event, and the new file is a further piece of
evidence that names the one it follows; if a submitted or approved decision cites the evaluation,
its digest changes and the decision shows the change (the material-change rules of the gate). A
finished run is never overwritten.
"""

import hashlib
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.db import DataError, IntegrityError, transaction
from django.db.models.fields.files import FieldFile

from riskreg.evaluations.models import (
    Evaluation,
    EvaluationKind,
    Evidence,
    EvidenceKind,
    ImportedRun,
    Outcome,
    RunStatus,
)
from riskreg.lib.dates import day
from riskreg.lib.forms import size_in_words
from riskreg.lib.text import one_line
from riskreg.sources import SourceMark

from .inspect import HeaderCheck, InspectLog, InspectLogError, Metric, RequestBudget, read_log

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from riskreg.evaluations.models import Snapshot
    from riskreg.frameworks.models import ThreatCategory

RULE = re.compile(r"^\s*(?P<metric>[^\s<>=]+)\s*>=\s*(?P<value>-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass
class OutcomeRule:
    """'metric ≥ value ⇒ signal met' for a successful run; below it, below threshold.

    `metric` is a metric's full name as the log reports it (`scorer/metric[reducer]`, e.g.
    `match/accuracy[pass_at_2]`); a bare metric name (`accuracy`) is accepted only where exactly one
    metric of the log has it, and is then recorded by its full name.
    """

    metric: str
    value: float
    number: str = ""  # the value as written: recorded and carried as typed, never re-rounded

    @classmethod
    def parse(cls, text: str) -> "OutcomeRule | None":
        if not text or not text.strip():
            return None
        match = RULE.match(text)
        if not match:
            raise InspectLogError(
                f"Outcome rule {text[:80]!r} is not of the form 'metric>=number', e.g. 'match/accuracy>=0.5'."
            )
        value = float(match["value"])
        if not math.isfinite(value):
            raise InspectLogError(f"Outcome rule {text[:80]!r}: the number is out of range.")
        return cls(match["metric"], value, match["value"])

    def resolve(self, log: InspectLog) -> Metric:
        """The metric of the log this rule names; InspectLogError listing the names it could be."""
        exact = [m for m in log.metrics if m.name == self.metric]
        if not exact:
            exact = [m for m in log.metrics if m.metric == self.metric]
        if len(exact) == 1:
            return exact[0]
        names = ", ".join(log.metric_names()) or "none"
        if len(exact) > 1:
            raise InspectLogError(f"The outcome rule's metric {self.metric!r} is ambiguous in this log; name one of: "
                                  f"{', '.join(m.name for m in exact)}.")  # fmt: skip
        raise InspectLogError(f"The outcome rule names metric {self.metric!r}, which the log does not report. "
                              f"Its metrics are: {names}.")  # fmt: skip

    def text(self) -> str:
        return f"{self.metric}>={self.number or repr(self.value)}"

    def __str__(self) -> str:
        return f"{self.metric} ≥ {self.number or repr(self.value)} ⇒ signal met"


@dataclass
class ImportResult:
    name: str
    status: str  # "imported", "updated", "skipped" or "refused"
    message: str
    evaluation: Evaluation | None = None
    log: InspectLog | None = None

    @property
    def refused(self) -> bool:
        return self.status == "refused"


@dataclass
class Plan:
    """What importing one log would do, worked out before anything is written (and shown as the preview)."""

    log: InspectLog
    outcome: str
    rule: OutcomeRule | None
    existing: ImportedRun | None = None
    action: str = "import"  # "import", "update" or "skip"
    reason: str = ""
    model_mismatch: bool = False
    warnings: list[str] = field(default_factory=list)


# The evidence files written inside each open `written_atomically()` block, innermost last.
_WRITTEN: ContextVar[tuple[list[tuple[Storage, str]], ...]] = ContextVar("import_files_written", default=())


@contextmanager
def written_atomically() -> Iterator[None]:
    """A transaction whose evidence files are removed if it rolls back.

    Django has no rollback hook: a file saved inside a transaction stays on disk when the rows that
    name it roll back. A multi-file request whose later file failed after an earlier one was written
    left that earlier file behind, named by no row. Every block (one import, and the request or command
    around several) removes what was written inside it when an exception leaves it, its commit
    included; views that import run outside ATOMIC_REQUESTS, inside one of these, so the outermost
    commit is seen here too.
    """
    written: list[tuple[Storage, str]] = []
    token = _WRITTEN.set((*_WRITTEN.get(), written))
    try:
        with transaction.atomic():
            yield
    except BaseException:
        for storage, name in written:
            storage.delete(name)
        raise
    finally:
        _WRITTEN.reset(token)


def _written(stored: FieldFile) -> None:
    """Note a file just saved, for every open block to remove if it rolls back."""
    for written in _WRITTEN.get():
        written.append((stored.storage, cast(str, stored.name)))  # a saved file has a name


def check_size(size: int | None, name: str) -> None:
    if size is None:
        return
    if size == 0:
        raise InspectLogError(f"{name} is empty.")
    if size > settings.IMPORT_MAX_BYTES:
        raise InspectLogError(
            f"{name} is {size_in_words(size)}; logs of at most {size_in_words(settings.IMPORT_MAX_BYTES)} are imported "
            "(IMPORT_MAX_BYTES)."
        )


def sha256_of(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def outcome_for(log: InspectLog, rule: OutcomeRule | None) -> str:
    """Never a success for a run that did not finish: error, cancelled and started are inconclusive.
    A rule naming a metric the log does not have is refused, whatever the run's status."""
    metric = rule.resolve(log) if rule is not None and log.metrics else None
    if not log.succeeded:
        return Outcome.INCONCLUSIVE
    if rule is None:
        return Outcome.NOT_ASSESSED
    if metric is None:
        metric = rule.resolve(log)  # no metrics at all: refused with the (empty) list
    if metric.value is None:
        raise InspectLogError(f"The outcome rule's metric {metric.name} has no numeric value in the log.")
    return Outcome.SIGNAL_MET if metric.value >= rule.value else Outcome.BELOW_THRESHOLD


def describe(log: InspectLog) -> str:
    """The evaluation's finding, in words, from the log."""
    parts = [f"Inspect run of task {log.task} (version {log.task_version}) on {log.model or 'an unnamed model'}: "
             f"status {log.status}."]  # fmt: skip
    if log.total_samples is not None:
        parts.append(f"{log.completed_samples} of {log.total_samples} samples completed over {log.epochs} epoch(s)"
                     + (f", reduced by {', '.join(log.epochs_reducer)}." if log.epochs_reducer else "."))  # fmt: skip
    if log.sample_errors:
        parts.append(f"{log.sample_errors} sample(s) errored.")
    if log.headline is not None and log.succeeded:
        stderr = f" ± {log.headline_stderr:.4g}" if log.headline_stderr is not None else ""
        value = f"{log.headline.value:.4g}" if log.headline.value is not None else "—"
        parts.append(f"Headline {log.headline.name} = {value}{stderr} (as Inspect reports it).")
    if len(log.metrics) > 1:
        parts.append(f"{len(log.metrics)} metrics in all, listed with the run.")
    if log.error_message:
        parts.append(f"Error: {log.error_message[:500]}")
    if not log.succeeded:
        parts.append("The run did not finish successfully, so no result is claimed from it.")
    return " ".join(parts)


def _later(existing: ImportedRun, log: InspectLog) -> bool:
    """Is `log` a later state of the recorded run? Only an unfinished run moves on."""
    if existing.status != RunStatus.STARTED:
        return False
    if log.status != RunStatus.STARTED:
        return True
    return (log.completed_samples or 0) > (existing.completed_samples or 0)


def plan(log: InspectLog, digest: str, *, snapshot: "Snapshot", category: "ThreatCategory | None" = None,
         rule: OutcomeRule | None, allow_other_model: bool) -> Plan:  # fmt: skip
    """What importing `log` would do; InspectLogError if it is refused."""
    existing = ImportedRun.objects.filter(eval_id=log.eval_id).select_related("evaluation__snapshot").first()
    if existing is not None:
        return _plan_again(log, digest, existing, snapshot=snapshot, category=category, rule=rule)
    mismatch = log.model not in snapshot.identifiers
    result = Plan(log, outcome_for(log, rule), rule, None, model_mismatch=mismatch)
    if mismatch and not allow_other_model:
        raise InspectLogError(_other_model(log.model, snapshot))
    return result


def _other_model(model: str, snapshot: "Snapshot") -> str:
    known = ", ".join(snapshot.identifiers) or "no identifiers recorded"
    return (f"The log's model is {model or '(none)'}, but {snapshot} is known as: {known}. Confirm the mismatch to "
            "record it anyway (the checkbox on the preview, --allow-other-model on the command line, "
            "allow_other_model=true in the API); the confirmation is recorded with the evaluation.")  # fmt: skip


def model_check(snapshot: "Snapshot", allow_other_model: bool) -> HeaderCheck | None:
    """Refuse a log of another model from its header, before its samples are read (issue 27: the
    mismatch was refused only after the whole log had been read), as `plan` would refuse it after.

    A log whose eval_id is recorded is left to `plan` (a later state of a run is checked against the
    run as recorded), and so is a header of the wrong shape (`interpret` refuses it, naming what)."""
    if allow_other_model:
        return None

    def check(evaluation: object) -> None:
        if not isinstance(evaluation, dict):
            return
        model, eval_id = evaluation.get("model"), evaluation.get("eval_id")
        if not isinstance(model, (str, type(None))) or not isinstance(eval_id, str) or not eval_id:
            return
        if (model or "") in snapshot.identifiers or ImportedRun.objects.filter(eval_id=eval_id).exists():
            return
        raise InspectLogError(_other_model(model or "", snapshot))

    return check


def _plan_again(
    log: InspectLog, digest: str, existing: ImportedRun, *, snapshot: "Snapshot", category: "ThreatCategory | None",
    rule: OutcomeRule | None,
) -> Plan:
    """A log whose eval_id is recorded: nothing changes, unless it is a later state of an unfinished run
    — of the same run (task, task id, run id, model), for the snapshot and category it is recorded under."""
    evaluation = existing.evaluation
    skip = Plan(log, evaluation.outcome, rule, existing, action="skip")
    if existing.file_sha256 == digest:
        skip.reason = f"This file is already recorded as evaluation {evaluation.pk}; nothing changes."
        return skip
    if not _later(existing, log):
        skip.reason = (
            f"eval_id {log.eval_id} is already recorded as evaluation {evaluation.pk} with status {existing.status}"
            + (f" and {existing.completed_samples} completed samples" if existing.completed_samples else "")
            + f"; this file (status {log.status}) is not a later state of the run, so nothing changes"
            + (" (a finished run is never overwritten)." if existing.finished else "."))  # fmt: skip
        return skip
    differs = [f"{what} {theirs!r} (recorded: {ours!r})" for what, theirs, ours in (
        ("task", log.task, existing.task), ("task id", log.task_id, existing.task_id),
        ("run id", log.run_id, existing.run_id), ("model", log.model, existing.model),
    ) if ours and theirs != ours]  # fmt: skip
    if differs:
        raise InspectLogError(f"eval_id {log.eval_id} is recorded as evaluation {evaluation.pk}, but this file is not "
                              f"the same run: {'; '.join(differs)}. Nothing changed.")  # fmt: skip
    if evaluation.snapshot_id != snapshot.pk or (category is not None and evaluation.category_id != category.pk):
        raise InspectLogError(f"The run is recorded as evaluation {evaluation.pk} for {evaluation.snapshot} · "
                              f"{evaluation.category}; import its later state for the same snapshot and category.")
    recorded = OutcomeRule.parse(existing.rule) if existing.rule else None
    if rule is not None and recorded is not None and rule.text() != recorded.text():
        raise InspectLogError(f"The run was recorded with the outcome rule {recorded.text()}; its later state is "
                              "read with the same rule (give that one, or none).")  # fmt: skip
    rule = rule or recorded
    result = Plan(log, outcome_for(log, rule), rule, existing, action="update",
                  model_mismatch=existing.other_model_confirmed)  # fmt: skip
    result.reason = (f"Updates evaluation {evaluation.pk}: the run was recorded with status {existing.status}; this "
                     f"file is a later state ({log.status}).")  # fmt: skip
    citing = list(evaluation.citing_decisions()[:5])
    if citing:
        result.warnings.append(
            "Decisions beyond a draft cite this evaluation (" + ", ".join(str(d) for d in citing)
            + "): the update is a change to what they rest on and shows on them as such."
        )  # fmt: skip
    return result


def _title(log: InspectLog) -> str:
    when = log.created or log.started_at
    return one_line(" · ".join(part for part in (log.task, log.model, day(when) if when else "") if part))


def _score_note(log: InspectLog) -> str:
    note = f"± {log.headline_stderr:.4g} stderr" if log.headline_stderr is not None else ""
    if len(log.headline_name) > 60:  # the unit holds 60 characters: the full name goes here
        note = f"{note} (headline {log.headline_name})".strip()
    return note[:300]


def _evaluation_values(log: InspectLog, outcome: str) -> dict:
    score = log.headline_value if log.succeeded else None
    return {
        "started_on": log.started_at.date() if log.started_at else None,
        "finished_on": log.completed_at.date() if log.completed_at else None,
        "finding": describe(log),
        "score": score,
        "score_unit": log.headline_name[:60] if score is not None else "",
        "score_note": _score_note(log) if score is not None else "",
        "outcome": outcome,
        "source_note": "; ".join(log.warnings),
    }


def _run_values(log: InspectLog, name: str, digest: str, rule: OutcomeRule | None) -> dict:
    return {
        "run_id": log.run_id, "eval_set_id": log.eval_set_id, "task": log.task, "task_id": log.task_id,
        "task_version": log.task_version, "model": log.model, "model_roles": log.model_roles,
        "generate_config": log.generate_config, "status": log.status, "log_version": log.log_version,
        "producer_version": log.producer_version, "created": log.created, "started_at": log.started_at,
        "completed_at": log.completed_at, "dataset_name": log.dataset, "dataset_samples": log.dataset_samples,
        "epochs": log.epochs, "epochs_reducer": log.epochs_reducer, "tags": log.tags,
        "task_metadata": log.task_metadata, "model_usage": log.model_usage, "file_name": name[-255:],
        "file_sha256": digest, "metrics": log.metrics_as_json(), "headline": log.headline_name,
        "rule": rule.text() if rule else "", "total_samples": log.total_samples,
        "completed_samples": log.completed_samples, "sample_errors": log.sample_errors,
        "error_message": log.error_message[:2000], "samples": log.samples,
    }  # fmt: skip


def _rule_resolved(rule: OutcomeRule | None, log: InspectLog) -> OutcomeRule | None:
    """The rule with its metric's full name, as recorded."""
    if rule is None or not log.metrics:
        return rule
    return OutcomeRule(rule.resolve(log).name, rule.value, rule.number)


def import_log(file: IO[bytes], name: str, *, snapshot: "Snapshot", category: "ThreatCategory | None", user: "User",
               rule: OutcomeRule | None = None, allow_other_model: bool = False,
               budget: RequestBudget | None = None) -> ImportResult:  # fmt: skip
    """Read and record one log. Never raises for a bad file: the result says it was refused, and why.

    `budget`: the JSON values the request (every file of it) may still parse; once it has run out, the
    file is refused unread."""
    try:
        if budget is not None:
            budget.before_reading()
        check_size(getattr(file, "size", None), name)
        log = read_log(file, name, budget=budget, check=model_check(snapshot, allow_other_model))
        digest = sha256_of(file)
        with written_atomically():
            # Serialise imports of one run: the second waits, then sees the first's record.
            list(ImportedRun.objects.select_for_update().filter(eval_id=log.eval_id).values_list("pk", flat=True))
            decided = plan(log, digest, snapshot=snapshot, category=category, rule=rule,
                           allow_other_model=allow_other_model)  # fmt: skip
            if decided.action == "skip":  # a skip is of a recorded run
                skipped = cast(ImportedRun, decided.existing)
                return ImportResult(name, "skipped", decided.reason, skipped.evaluation, log)
            return _write(file, name, log, digest, decided, snapshot=snapshot, category=category, user=user,
                          allow_other_model=allow_other_model)  # fmt: skip
    except InspectLogError as error:
        return ImportResult(name, "refused", str(error))
    except (ValidationError, DataError, ValueError) as error:
        # Values that no record can hold (too long, out of range, NUL characters): refused whole.
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        return ImportResult(name, "refused", "The log's values do not fit a record: " + " ".join(messages)[:500])
    except OverflowError:
        return ImportResult(name, "refused", "The log holds a date or number no record can hold.")
    except IntegrityError:
        return ImportResult(name, "refused", f"eval_id {log.eval_id} was being imported at the same moment by "
                            "another request; import the file again to see what was recorded.")  # fmt: skip


def _write(
    file: IO[bytes], name: str, log: InspectLog, digest: str, decided: Plan, *, snapshot: "Snapshot",
    category: "ThreatCategory | None", user: "User", allow_other_model: bool,
) -> ImportResult:
    """Write the evaluation, its run record and the log as evidence (inside the caller's `written_atomically()`)."""
    rule = _rule_resolved(decided.rule, log)
    if decided.action == "update":
        run = cast(ImportedRun, decided.existing)  # an update is of a recorded run
        evaluation = run.evaluation
        # simple-history keeps 100 characters of a change reason; the file is named by the new evidence.
        reason = f"Re-import of Inspect run {log.eval_id[:40]}: status {run.status} → {log.status}"[:100]
        for key, value in _evaluation_values(log, decided.outcome).items():
            setattr(evaluation, key, value)
        evaluation._change_reason = reason
    else:
        reason = ""
        evaluation = Evaluation(
            snapshot=snapshot, category=category, title=_title(log)[:300],
            kind=EvaluationKind.AUTOMATED_BENCHMARK, run_by=f"Inspect {log.producer_version}".strip(),
            is_external=False, source_section=f"Inspect log {log.eval_id}"[:100],
            source_mark=SourceMark.IMPORTED, recorded_by=user, **_evaluation_values(log, decided.outcome),
        )  # fmt: skip
    evaluation._history_user = user
    evaluation.full_clean()
    evaluation.save()

    file.seek(0)
    existing = decided.existing
    previous = existing.log_evidence if existing else None
    follows = f" — status {log.status}, follows the {existing.status} log" if existing and previous else ""
    piece = Evidence(
        evaluation=evaluation, kind=EvidenceKind.FILE, title=f"Inspect log {name}{follows}"[:300], added_by=user,
        original_name=name[-255:], replaces=previous,
        content_type="application/zip" if name.lower().endswith(".eval") else "application/json",
    )  # fmt: skip
    piece.file.save(name.rsplit("/", 1)[-1], File(file), save=False)
    _written(piece.file)
    piece._history_user = user
    piece._change_reason = reason
    piece.save()

    values = _run_values(log, name, digest, rule)
    if decided.action == "update":
        run = cast(ImportedRun, decided.existing)
        for key, value in values.items():
            setattr(run, key, value)
        run._change_reason = reason
    else:
        run = ImportedRun(evaluation=evaluation, eval_id=log.eval_id, imported_by=user,
                          other_model_confirmed=decided.model_mismatch and allow_other_model, **values)  # fmt: skip
    run.log_evidence = piece
    run._history_user = user
    run.full_clean(validate_unique=False)
    run.save()
    if reason:
        return ImportResult(name, "updated", f"Updated evaluation {evaluation.pk}: {reason}.", evaluation, log)
    return ImportResult(name, "imported", f"Recorded as evaluation {evaluation.pk} ({log.status}).", evaluation, log)


def find_snapshot(value: object) -> "Snapshot":
    """A snapshot by its id or its name (case-insensitive), as the command line and the API take it."""
    from riskreg.evaluations.models import Snapshot

    text = str(value or "").strip()
    if not text or "\x00" in text:
        raise InspectLogError("Give the snapshot: its id or its name (both are shown on the model page).")
    if text.isascii() and text.isdigit():
        found = Snapshot.objects.select_related("model").filter(pk=int(text)).first()
        if found is not None:
            return found
    matches = list(Snapshot.objects.select_related("model").filter(name__iexact=text)[:10])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InspectLogError(f"Several snapshots are called {text!r}; give one's id: "
                              + "; ".join(f"{s.pk} = {s}" for s in matches) + ".")  # fmt: skip
    known = "; ".join(f"{s.pk} = {s}" for s in Snapshot.objects.select_related("model")[:20])
    raise InspectLogError(f"No snapshot with id or name {text!r} (known: {known or 'none'}).")


def find_category(value: object) -> "ThreatCategory":
    from riskreg.frameworks.models import ThreatCategory

    text = str(value or "").strip()
    found = ThreatCategory.objects.filter(slug=text).first() if text and "\x00" not in text else None
    if found is None:
        slugs = ", ".join(ThreatCategory.objects.values_list("slug", flat=True))
        raise InspectLogError(f"No threat category {text!r} (known: {slugs}).")
    return found
