"""The Safety and Security Model Report (GPAI Code of Practice, measures 7.1–7.5), from the record.

Every item is filled from the decision's record, or listed as a gap to fill: nothing is invented.
The report is built from the decision's signed document (digest.load), so it says what the signers
signed; the decision's own status and gate are stated beside it. The same dict is the JSON (with a
top-level "gaps" list), the HTML page and, through the decision record's machinery, the PDF.
"""

import dataclasses

from django.db.models import F
from django.utils import timezone

from riskreg import provenance
from riskreg.decisions.digest import CONTENT_VERSION, conditions_in_words, digest_of, load, signed_content
from riskreg.decisions.gate import gate
from riskreg.decisions.models import DecisionStatus, ReleaseDecision
from riskreg.evaluations.models import Evaluation, ImportedRun, Snapshot
from riskreg.lib.dates import day_and_time
from riskreg.risks.models import Risk

from . import crosswalk
from .models import Incident
from .rules import rules

REPORTABLE = (DecisionStatus.IN_REVIEW, DecisionStatus.APPROVED, DecisionStatus.SUPERSEDED)


def _shown(record, shows: tuple[str, ...]) -> dict:
    """The record's provenance, naming as riskreg's reading only the values shown beside it."""
    made = provenance.of(record)
    return dataclasses.replace(made, readings=tuple(name for name in made.readings if name in shows)).as_json()


class Section:
    def __init__(self, key: str, title: str):
        self.key, self.title = key, title
        self.items: list[dict] = []
        self.gaps: list[str] = []

    def add(self, label: str, value, record=None, shows: tuple[str, ...] = ()) -> None:
        """An item filled from the record; an empty value becomes a gap instead.

        `record`: the record the item states, whose provenance the item carries (riskreg.provenance's
        JSON shape, drawn by the `provenance` tag); `shows`: which of the record's values the item shows, so that
        it says which of those are riskreg's reading (and not of values it leaves out). A list's lines may each be
        a `line()`, with their own.
        """
        if value in (None, "", [], {}):
            self.gap(f"{label}: not in the record.")
            return
        item = {"label": label, "lines" if isinstance(value, list) else "value": value}
        if record is not None:
            item["provenance"] = _shown(record, shows)
        self.items.append(item)

    @staticmethod
    def line(text: str, record, shows: tuple[str, ...] = ()) -> dict:
        """A line of a list item that states a record: its text and the record's provenance."""
        return {"text": text, "provenance": _shown(record, shows)}

    def gap(self, text: str) -> None:
        self.gaps.append(text)

    def as_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "items": self.items, "gaps": self.gaps}


def build(decision: ReleaseDecision, now=None) -> dict:
    """The report as a dict; raises ValueError for a draft (nothing decided yet)."""
    if decision.status not in REPORTABLE:
        raise ValueError("A model report is made from a decision in review or approved; this one is a draft "
                         "or was rejected.")  # fmt: skip
    now = now or timezone.now()
    loaded = load(decision.pk)
    decision = loaded.decision
    content = signed_content(loaded, CONTENT_VERSION)
    outline = {section["key"]: section["title"] for section in rules().model_report["sections"]}
    sections = {key: Section(key, title) for key, title in outline.items()}
    evaluations = _evaluations(decision)

    _model(sections["7.1"], decision)
    _reasons(sections["7.2"], decision, loaded)
    _evaluation_section(sections["7.3"], evaluations)
    _mitigations(sections["7.4"], decision, loaded, evaluations)
    _changes(sections["7.5"], decision)

    report = gate(decision)
    origin = provenance.of(decision)
    illustration = origin.origin in (provenance.Origin.ILLUSTRATION, provenance.Origin.RECORDED)
    result = {
        "kind": "model_report",
        "name": rules().model_report["name"],
        "source": rules().model_report["source"],
        "rules_read_on": rules().read_on,
        "generated_at": now.isoformat(),
        "generated": f"{day_and_time(now)} UTC",
        "decision": {"id": decision.pk, "reference": decision.reference, "title": decision.title,
                     "status": decision.status_words, "scope": decision.get_scope_display(),
                     "framework_version": str(decision.framework_version), "digest": digest_of(content),
                     "gate": report.headline, "provenance": origin.as_json()},  # fmt: skip
        "model": {"name": decision.snapshot.model.name, "developer": decision.snapshot.model.developer},
        "illustration": illustration,
        "status": "full" if decision.status != DecisionStatus.IN_REVIEW else "interim",
        "sections": [section.as_dict() for section in sections.values()],
        "compliance": [{"systemic_risk": row.name, "gap": row.gap, "text": row.text, "note": row.note}
                       for row in crosswalk.for_decision(loaded)],  # fmt: skip
    }
    if illustration:
        result["notice"] = provenance.notice(decision)
    result["gaps"] = [{"section": s.key, "gap": gap} for s in sections.values() for gap in s.gaps]
    return result


def _reading(record, name: str) -> str:
    """" (riskreg's reading)" after a value the source does not state, in the words every output uses."""
    return f" ({provenance.READING})" if provenance.of(record).reads(name) else ""


def _evaluations(decision) -> list[Evaluation]:
    """The evaluations of the decision's snapshot, and every one its determinations cite."""
    cited = Evaluation.objects.filter(determinations__decision=decision)
    return list(
        (Evaluation.objects.filter(snapshot=decision.snapshot) | Evaluation.objects.filter(pk__in=cited.values("pk")))
        .distinct().select_related("category", "snapshot", "threshold").prefetch_related("evidence")
        .order_by("category__order", "source_section", "id")
    )  # fmt: skip


def _model(section: Section, decision) -> None:
    model = decision.snapshot.model
    section.add("Model", f"{model.name} ({model.developer})")
    section.add("Description", model.description)
    versions = [
        Section.line(f"{s.name} — {s.get_kind_display()}" + (f", available from {s.available_from:%-d %b %Y}"
                                                             if s.available_from else ""), s)
        for s in Snapshot.objects.filter(model=model).order_by("available_from", "id")
    ]  # fmt: skip
    section.add("Versions (snapshots)", versions)
    section.add("Version this decision covers", decision.snapshot.name, decision.snapshot)
    section.add("Release scope decided", f"{decision.get_scope_display()}. {decision.scope_details}".strip(), decision)
    section.add("Effective date", decision.effective_date and f"{decision.effective_date:%-d %b %Y}", decision)


def _reasons(section: Section, decision, loaded) -> None:
    section.add("Reasons for proceeding (the decision's rationale)", decision.rationale, decision)
    section.add("Basis", decision.basis, decision)
    section.add("Conditions of the release", decision.conditions, decision)
    for determination in loaded.determinations:
        # The verdict in its threshold's own words (RSP v3.0: "Applicable"), as on every other output.
        text = (f"{determination.verdict_label}; confidence {determination.get_confidence_display().lower()}"
                + _reading(determination, "confidence"))
        if determination.residual_risk:
            text += f". Residual risk: {determination.residual_risk}"
        section.add(f"Determination — {determination.category.name}", text, determination, shows=("confidence",))
    for determination in loaded.determinations:
        if determination.safety_margin:
            section.add(f"Safety margin — {determination.category.name}", determination.safety_margin, determination)
        else:
            section.gap(f"Safety margin for the {determination.category.name} determination: not in the record.")
    conditions = conditions_in_words(loaded)
    section.add("Conditions under which the justification would no longer hold", [
        f"{row['text']} ({row['rule_label'].lower()}" + (f"; MET by {', '.join(row['met_words'])})" if row["met_by"]
                                                        else ")") for row in conditions
    ])  # fmt: skip
    section.add("How the decision was made (who decided)", decision.decided_by, decision)
    signers = [f"{s.signer.get_full_name() or s.signer.username} as {s.title} ({s.get_verdict_display().lower()}, "
               f"{s.signed_at:%-d %b %Y})" for s in decision.sign_offs.select_related("signer", "title")]  # fmt: skip
    if signers:
        section.add("Sign-offs", signers)
    elif decision.is_recorded:
        section.gap("Sign-offs: the decision was recorded from a published source, which names no signers.")
    else:
        section.gap("Sign-offs: none yet.")
    external = [e for e in loaded.determinations for c in e.cited if c["is_external"]]
    if not external:
        section.gap("External input to the decision: no cited evaluation was run by an external party.")


def _evaluation_section(section: Section, evaluations) -> None:
    if not evaluations:
        section.gap("Evaluation results: the record has no evaluation of this snapshot.")
        return
    runs = {run.evaluation_id: run for run in ImportedRun.objects.filter(evaluation__in=evaluations)}
    missing_samples, missing_elicitation, missing_baseline = [], [], []
    for e in evaluations:
        score = "" if e.score is None else f"{e.score:g}{(' ' + e.score_unit) if e.score_unit else ''}"
        parts = [f"outcome: {e.outcome_label.lower()}", f"run by {e.run_by}" + (" (external)" if e.is_external
                                                                                         else ""),
                 f"method: {e.get_kind_display().lower()}"]  # fmt: skip
        if e.confidence != "not_stated":
            parts.append(f"confidence {e.get_confidence_display().lower()}" + _reading(e, "confidence"))
        if score:
            parts.append(f"score {score}" + (f" — {e.score_note}" if e.score_note else ""))
        baselines = [f"{c.get('subject')}: {c.get('value')}{(' ' + c['unit']) if c.get('unit') else ''}"
                     for c in e.comparisons or [] if isinstance(c, dict)]  # fmt: skip
        if baselines:
            parts.append("compared with " + "; ".join(baselines))
        else:
            missing_baseline.append(e.title)
        run = runs.get(e.pk)
        if run is not None:
            parts.append(f"Inspect task {run.task}, {run.completed_samples or 0} of {run.total_samples or 0} samples, "
                         f"{run.epochs} epoch(s), model {run.model}")  # fmt: skip
            if run.generate_config:
                settings = sorted(run.generate_config.items())
                parts.append("generation config " + ", ".join(f"{k}={v}" for k, v in settings))
            else:
                missing_elicitation.append(e.title)
        else:
            missing_elicitation.append(e.title)
        section.add(f"{e.category.name} — {e.title}", f"{e.finding} ({'; '.join(parts)})", e,
                    shows=("confidence", "outcome"))
        if run is not None and run.samples:
            section.add(f"Samples — {e.title} (random, from the imported log)", [_sample(s) for s in run.samples])
        else:
            missing_samples.append(e.title)
    if missing_elicitation:
        section.gap(f"How the model was elicited (scaffold, generation settings), for {len(missing_elicitation)} "
                    f"of {len(evaluations)} evaluations: not in the record (an imported Inspect log carries "
                    "it).")  # fmt: skip
    if missing_baseline:
        section.gap(f"Human baselines or comparisons, for {len(missing_baseline)} evaluations: not in the record.")
    if missing_samples:
        section.gap(f"Random input/output samples, for {len(missing_samples)} of {len(evaluations)} evaluations: "
                    "none in the record (an imported Inspect log gives them).")  # fmt: skip
    section.gap("Access given to evaluators (model versions, safeguards off or on, time): not in the record.")


def _sample(sample: dict) -> str:
    scores = ", ".join(f"{name} {value}" for name, value in (sample.get("scores") or {}).items())
    output = sample.get("output") or "(no output in the log)"
    target = f"; target “{sample['target']}”" if sample.get("target") else ""
    return f"Sample {sample.get('id')}: input “{sample.get('input')}” → output “{output}”{target}" + (
        f"; scored {scores}" if scores else ""
    )


def _mitigations(section: Section, decision, loaded, evaluations) -> None:
    safeguards = [Section.line(f"{d.category.name}: {d.safeguards}", d) for d in loaded.determinations if d.safeguards]
    section.add("Safeguards named in the determinations", safeguards)
    categories = {d.category_id for d in loaded.determinations} | {e.category_id for e in evaluations}
    # Risks of this model: those the register ties to its evaluations, in the decision's categories.
    model = decision.snapshot.model
    risks = [Section.line(f"{r.code} {r.title}: {r.mitigations}", r)
             for r in Risk.objects.filter(category_id__in=categories, evaluations__snapshot__model=model)
             .exclude(mitigations="").distinct().order_by("code")]  # fmt: skip
    section.add("Mitigations in the risk register (risks tied to this model's evaluations)", risks)
    external = [Section.line(f"{e.title} — {e.run_by}", e) for e in evaluations if e.is_external]
    section.add("External evaluator reports", external)
    if external and not any(p.kind == "file" for e in evaluations if e.is_external for p in e.evidence.all()):
        section.gap("The external evaluators' own reports are not attached as evidence.")


def _changes(section: Section, decision) -> None:
    """Later decisions, incidents and changes since signing; "none recorded" is a finding, not a gap."""
    later = [Section.line(f"{d.reference or d.pk} {d.title} ({d.status_words}"
                          + (f", effective {d.effective_date:%-d %b %Y})" if d.effective_date else ")"), d) for d in
             ReleaseDecision.objects.filter(snapshot__model=decision.snapshot.model, created_at__gt=decision.created_at)
             .exclude(pk=decision.pk).exclude(status=DecisionStatus.DRAFT)
             .order_by(F("effective_date").asc(nulls_last=True), "id")]  # fmt: skip
    incidents = [Section.line(f"{i.reference} {i.title} ({', '.join(i.kind_names())})", i, shows=("kind",))
                 for i in Incident.objects.filter(model=decision.snapshot.model).order_by("id")]  # fmt: skip
    changed = gate(decision).material_change
    since = [c.text for c in changed.changes] if changed else []
    for label, value in (("Later decisions about this model", later),
                         ("Incidents and near misses recorded for this model", incidents),
                         ("Changed since the decision was " + ("recorded" if decision.is_recorded else "signed"),
                          since)):
        if value:
            section.add(label, value)
    if not section.items:
        section.add("Material changes", "None recorded since the decision.")


def pdf(context: dict) -> bytes:
    """The report as a PDF, through the decision record's offline WeasyPrint set-up."""
    from django.template.loader import render_to_string
    from weasyprint import HTML

    from riskreg.decisions.record import STATIC, OfflineFetcher

    base = STATIC.resolve().as_uri() + "/"
    html = render_to_string("filings/model_report.html", {**context, "for_pdf": True, "static_base": base})
    return HTML(string=html, base_url=base, url_fetcher=OfflineFetcher()).write_pdf()
