"""Synthetic data at scale, for benchmarks and for trying riskreg with years of records.

Everything goes through the history-preserving bulk helpers of audit/chain.py, so the generated
records have their history rows and a verifying audit chain like any other. The same seed gives
the same records (names, scores, outcomes, links); only timestamps differ between runs.
"""

import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction

from riskreg.accounts.models import system_account
from riskreg.audit.chain import bulk_create_with_history, bulk_update_with_history
from riskreg.audit.models import AuditEvent
from riskreg.decisions.models import ReleaseDecision, Scope
from riskreg.evaluations.models import AIModel, Confidence, Evaluation, EvaluationKind, Outcome, Snapshot
from riskreg.frameworks.models import FrameworkVersion, ThreatCategory
from riskreg.risks.models import Risk, RiskStatus, Treatment
from riskreg.sources import SourceMark

USERNAME = "riskreg-generator"
REASON = "synthetic data (generate_data)"
BATCH = 1000

# Outcomes as a long-running programme sees them: mostly below threshold, a few concerning.
OUTCOMES = [Outcome.BELOW_THRESHOLD] * 12 + [Outcome.INCONCLUSIVE] * 2 + [Outcome.NOT_ASSESSED]
OUTCOMES += [Outcome.SIGNAL_MET, Outcome.SATURATED, Outcome.CROSSED]
TASKS = ["capture-the-flag", "protocol troubleshooting", "agentic coding", "long-horizon research",
         "sabotage probe", "persuasion study", "refusal suite", "exploit development", "kernel optimisation",
         "wet-lab planning"]  # fmt: skip
TEAMS = ["Frontier red team", "Alignment science", "External evaluator A", "External evaluator B", "Safeguards"]


class GenerateError(Exception):
    pass


@dataclass
class Plan:
    models: int = 10
    evaluations: int = 1000
    risks: int = 100
    decisions: int = 50
    events: int = 0  # total events the chain should hold at the end; 0: only those the records make
    seed: int = 1


@dataclass
class Generated:
    counts: dict = field(default_factory=dict)


class Progress:
    """A one-line progress bar on stderr (a line per step when stderr is not a terminal)."""

    def __init__(self, label: str, total: int, stream=None):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = -1

    def advance(self, n: int) -> None:
        self.done += n
        percent = min(100, self.done * 100 // self.total)
        if self.tty:
            bar = "#" * (percent // 4)
            self.stream.write(f"\r{self.label:12} [{bar:25}] {self.done:>10,}/{self.total:,}")
            if self.done >= self.total:
                self.stream.write("\n")
        elif percent // 10 != self.shown // 10 or self.done >= self.total:
            self.stream.write(f"{self.label}: {self.done:,}/{self.total:,} ({percent}%)\n")
        self.shown = percent
        self.stream.flush()


def _user():
    return system_account(USERNAME, "Synthetic data")


def generate(plan: Plan, stream=None) -> Generated:
    """Write the plan's records; refuse (writing nothing) if this seed's records already exist."""
    for name in ("models", "evaluations", "risks", "decisions", "events", "seed"):
        if getattr(plan, name) < 0:
            raise GenerateError(f"--{name} must be zero or more.")
    if plan.models == 0 and (plan.evaluations or plan.decisions):
        raise GenerateError("Evaluations and decisions belong to a model snapshot: give --models 1 or more.")
    categories = list(ThreatCategory.objects.order_by("order", "id"))
    versions = list(FrameworkVersion.objects.order_by("id"))
    if not categories or not versions:
        raise GenerateError("No framework data yet: run `manage.py seed_demo` first.")
    prefix = f"syn{plan.seed}"
    if (
        AIModel.objects.filter(slug__startswith=f"{prefix}-").exists()
        or Risk.objects.filter(code__startswith=f"S{plan.seed}-").exists()
    ):
        raise GenerateError(f"Data for seed {plan.seed} exists already: choose another --seed.")

    rng = random.Random(plan.seed)
    result = Generated()
    with transaction.atomic():
        user = _user()
        make = _Maker(rng, user, categories, versions, prefix, plan.seed, stream)
        snapshots = make.models(plan.models)
        evaluations = make.evaluations(plan.evaluations, snapshots)
        make.risks(plan.risks, categories)
        make.decisions(plan.decisions, snapshots)
        make.changes(plan.events, evaluations)
        result.counts = {
            "models": plan.models, "snapshots": len(snapshots), "evaluations": len(evaluations),
            "risks": plan.risks, "decisions": plan.decisions, "audit events in the chain": AuditEvent.objects.count(),
        }  # fmt: skip
    return result


class _Maker:
    def __init__(self, rng, user, categories, versions, prefix, seed, stream):
        self.rng, self.user, self.categories, self.versions = rng, user, categories, versions
        self.prefix, self.seed, self.stream = prefix, seed, stream
        self.note = f"Synthetic record from generate_data --seed {seed}; not a fact about any real model."

    def _bulk(self, label: str, objs: list, model) -> list:
        progress = Progress(label, len(objs), self.stream)
        made = []
        for start in range(0, len(objs), BATCH):
            made += bulk_create_with_history(objs[start : start + BATCH], model, user=self.user, reason=REASON)
            progress.advance(len(objs[start : start + BATCH]))
        return made

    def _sourced(self) -> dict:
        return {"source_section": "synthetic", "source_mark": SourceMark.INFERRED, "source_note": self.note}

    def models(self, count: int) -> list:
        models = self._bulk("models", [
            AIModel(slug=f"{self.prefix}-{i}", name=f"Synthetic model {self.seed}.{i}", developer="Synthetic Labs",
                    description=self.note)
            for i in range(count)
        ], AIModel)  # fmt: skip
        start = date(2022, 1, 1)
        snapshots = []
        for model in models:
            for j in range(self.rng.randint(1, 3)):
                snapshots.append(Snapshot(
                    model=model, name=f"snapshot {j + 1}", kind="final" if j == 0 else "early",
                    available_from=start + timedelta(days=self.rng.randrange(0, 1400)), **self._sourced(),
                ))  # fmt: skip
        return self._bulk("snapshots", snapshots, Snapshot)

    def evaluations(self, count: int, snapshots: list) -> list:
        rng, kinds = self.rng, EvaluationKind.values
        objs = []
        for i in range(count):
            outcome = rng.choice(OUTCOMES)
            started = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 1500))
            objs.append(Evaluation(
                snapshot=rng.choice(snapshots), category=rng.choice(self.categories),
                title=f"{rng.choice(TASKS).capitalize()} #{i}", kind=rng.choice(kinds), run_by=rng.choice(TEAMS),
                is_external=rng.random() < 0.2, started_on=started,
                finished_on=started + timedelta(days=rng.randrange(0, 30)),
                finding=f"Synthetic finding {i}: the evaluation's signal was "
                        f"{'met' if outcome in Outcome.concerning() else 'not met'}.",
                score=None if outcome == Outcome.NOT_ASSESSED else round(rng.random() * 100, 1), score_unit="%",
                outcome=outcome, confidence=rng.choice(Confidence.values), recorded_by=self.user, **self._sourced(),
            ))  # fmt: skip
        return self._bulk("evaluations", objs, Evaluation)

    def risks(self, count: int, categories: list) -> list:
        rng = self.rng
        objs = []
        for i in range(count):
            inherent = (rng.randint(1, 5), rng.randint(1, 5))
            objs.append(Risk(
                code=f"S{self.seed}-{i}", title=f"Synthetic risk {i}: {rng.choice(TASKS)}",
                category=rng.choice(categories), description=self.note,
                inherent_likelihood=inherent[0], inherent_impact=inherent[1],
                residual_likelihood=rng.randint(1, inherent[0]), residual_impact=rng.randint(1, inherent[1]),
                treatment=rng.choice(Treatment.values), owner=rng.choice(TEAMS), status=rng.choice(RiskStatus.values),
                confidence=rng.choice(Confidence.values), **self._sourced(),
            ))  # fmt: skip
        return self._bulk("risks", objs, Risk)

    def decisions(self, count: int, snapshots: list) -> list:
        rng = self.rng
        objs = [
            ReleaseDecision(
                snapshot=rng.choice(snapshots), framework_version=rng.choice(self.versions),
                reference=f"S{self.seed}-D{i}", title=f"Synthetic release decision {i}", scope=rng.choice(Scope.values),
                rationale=self.note, effective_date=date(2022, 1, 1) + timedelta(days=rng.randrange(0, 1500)),
                author=self.user, **self._sourced(),
            )
            for i in range(count)
        ]  # fmt: skip
        return self._bulk("decisions", objs, ReleaseDecision)

    def changes(self, target_events: int, evaluations: list) -> None:
        """Re-score evaluations (each change one history row and one event) until the chain holds the target."""
        missing = target_events - AuditEvent.objects.count()
        if missing <= 0:
            return
        if not evaluations:
            raise GenerateError("--events beyond the records' own events needs evaluations to change.")
        progress = Progress("changes", missing, self.stream)
        while missing > 0:
            batch = self.rng.sample(evaluations, min(BATCH, missing, len(evaluations)))
            for evaluation in batch:
                evaluation.score = round(self.rng.random() * 100, 1)
            bulk_update_with_history(batch, Evaluation, ["score"], user=self.user, reason="re-scored (synthetic)")
            missing -= len(batch)
            progress.advance(len(batch))
