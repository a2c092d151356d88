"""Recording an Inspect log: one evaluation, its ImportedRun provenance, and the log as evidence.

Everything of one import is written in one transaction; a refused file writes nothing, not even
its evidence file. Importing a log whose eval_id is already recorded changes nothing.
"""

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DataError, transaction

from riskreg.evaluations.models import Evaluation, EvaluationKind, Evidence, EvidenceKind, ImportedRun, Outcome

from .inspect import InspectLog, InspectLogError, read_log

RULE = re.compile(r"^\s*(?P<metric>[\w./-]+)\s*>=\s*(?P<value>-?\d+(\.\d+)?)\s*$")


@dataclass
class OutcomeRule:
    """'metric ≥ value ⇒ signal met' for a successful run; below it, below threshold."""

    metric: str
    value: float

    @classmethod
    def parse(cls, text: str) -> "OutcomeRule | None":
        if not text or not text.strip():
            return None
        match = RULE.match(text)
        if not match:
            raise InspectLogError(f"Outcome rule {text!r} is not of the form 'metric>=number', e.g. 'accuracy>=0.5'.")
        return cls(match["metric"], float(match["value"]))

    def __str__(self) -> str:
        return f"{self.metric} ≥ {self.value:g} ⇒ signal met"


@dataclass
class ImportResult:
    name: str
    status: str  # "imported", "skipped" or "refused"
    message: str
    evaluation: Evaluation | None = None
    log: InspectLog | None = None


def check_size(size: int | None, name: str) -> None:
    if size is None:
        return
    if size == 0:
        raise InspectLogError(f"{name} is empty.")
    if size > settings.IMPORT_MAX_BYTES:
        raise InspectLogError(
            f"{name} is {size / 1e6:,.0f} MB; logs of at most {settings.IMPORT_MAX_BYTES / 1e6:,.0f} MB are imported "
            "(IMPORT_MAX_BYTES)."
        )


def sha256_of(file) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def outcome_for(log: InspectLog, rule: OutcomeRule | None) -> str:
    """Never a success for a run that did not finish: error, cancelled and started are inconclusive."""
    if not log.succeeded:
        return Outcome.INCONCLUSIVE
    if rule is None:
        return Outcome.NOT_ASSESSED
    value = next((s.metrics.get(rule.metric) for s in log.scores if s.name == log.headline_scorer), None)
    if value is None:
        value = next((s.metrics[rule.metric] for s in log.scores if s.metrics.get(rule.metric) is not None), None)
    if value is None:
        raise InspectLogError(f"The outcome rule names metric {rule.metric!r}, which the log does not report.")
    return Outcome.SIGNAL_MET if value >= rule.value else Outcome.BELOW_THRESHOLD


def describe(log: InspectLog) -> str:
    """The evaluation's finding, in words, from the log."""
    parts = [f"Inspect run of task {log.task} (version {log.task_version}) on {log.model or 'an unnamed model'}: "
             f"status {log.status}."]  # fmt: skip
    if log.total_samples is not None:
        parts.append(f"{log.completed_samples} of {log.total_samples} samples completed over {log.epochs} epoch(s).")
    if log.sample_errors:
        parts.append(f"{log.sample_errors} sample(s) errored.")
    for scorer in log.scores:
        metrics = ", ".join(f"{k} {v:.4g}" if v is not None else f"{k} —" for k, v in scorer.metrics.items())
        parts.append(f"Scorer {scorer.name}: {metrics}.")
    if log.error_message:
        parts.append(f"Error: {log.error_message[:500]}")
    if not log.succeeded:
        parts.append("The run did not finish successfully, so no result is claimed from it.")
    return " ".join(parts)


def import_log(file, name: str, *, snapshot, category, user, rule: OutcomeRule | None = None) -> ImportResult:
    """Read and record one log. Never raises for a bad file: the result says it was refused, and why."""
    try:
        check_size(getattr(file, "size", None), name)
        log = read_log(file, name)
        existing = ImportedRun.objects.filter(eval_id=log.eval_id).select_related("evaluation").first()
        if existing is not None:
            return ImportResult(name, "skipped", f"eval_id {log.eval_id} is already recorded as evaluation "
                                f"{existing.evaluation_id}; nothing changed.", existing.evaluation, log)  # fmt: skip
        outcome = outcome_for(log, rule)
        digest = sha256_of(file)
    except InspectLogError as error:
        return ImportResult(name, "refused", str(error))

    score = log.headline_value if log.succeeded else None
    evaluation = Evaluation(
        snapshot=snapshot,
        category=category,
        title=f"{log.task} ({log.model})" if log.model else log.task,
        kind=EvaluationKind.AUTOMATED_BENCHMARK,
        run_by=f"Inspect {log.producer_version}".strip(),
        is_external=False,
        started_on=log.started_at.date() if log.started_at else None,
        finished_on=log.completed_at.date() if log.completed_at else None,
        finding=describe(log),
        score=score,
        score_unit=f"{log.headline_scorer}/{log.headline_metric}" if score is not None else "",
        score_note=f"± {log.headline_stderr:.4g} stderr"
        if score is not None and log.headline_stderr is not None
        else "",
        outcome=outcome,
        source_section=f"Inspect log {log.eval_id}",
        source_note="; ".join(log.warnings),
        recorded_by=user,
    )
    stored_name = None
    try:
        with transaction.atomic():
            for obj in (evaluation,):
                obj._history_user = user
                obj.full_clean()
                obj.save()
            run = ImportedRun(
                evaluation=evaluation, eval_id=log.eval_id, run_id=log.run_id, task=log.task,
                task_version=log.task_version, model=log.model, status=log.status, log_version=log.log_version,
                producer_version=log.producer_version, file_name=name[-255:], file_sha256=digest,
                metrics=log.metrics_as_json(), total_samples=log.total_samples,
                completed_samples=log.completed_samples, sample_errors=log.sample_errors,
                error_message=log.error_message[:2000], imported_by=user,
            )  # fmt: skip
            run._history_user = user
            run.full_clean()
            run.save()
            file.seek(0)
            piece = Evidence(
                evaluation=evaluation, kind=EvidenceKind.FILE, title=f"Inspect log {name}", added_by=user,
                original_name=name[-255:],
                content_type="application/zip" if name.lower().endswith(".eval") else "application/json",
            )  # fmt: skip
            piece.file.save(name.rsplit("/", 1)[-1], File(file), save=False)
            stored_name = piece.file.name
            piece._history_user = user
            piece.save()
    except (ValidationError, DataError, ValueError) as error:
        # Values that no record can hold (too long, out of range, NUL characters): refused whole.
        if stored_name:
            piece.file.storage.delete(stored_name)
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        return ImportResult(name, "refused", "The log's values do not fit a record: " + " ".join(messages)[:500])
    except Exception:
        if stored_name:  # the row is rolled back; do not leave its file behind
            piece.file.storage.delete(stored_name)
        raise
    return ImportResult(name, "imported", f"Recorded as evaluation {evaluation.pk} ({log.status}).", evaluation, log)
