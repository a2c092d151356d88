"""The transparency report (SB 53 / RAISE fields), from the record and what the compliance officer gives.

Facts the record holds (release date, intended uses, restrictions, the risk assessments and who took
part) come from the decision; facts it does not hold (the website, a contact, languages, modalities)
are given when the report is issued and marked as given by that person; anything still missing is a gap.
"""

from riskreg.decisions.digest import load
from riskreg.evaluations.models import Evaluation, Outcome
from riskreg.sources import SourceMark

from .rules import rules

GIVEN = ("website", "contact", "languages", "modalities")  # never in the record: given at issue time


def build(decision, inputs: dict | None = None, given_by: str = "") -> dict:
    inputs = {key: str(value).strip() for key, value in (inputs or {}).items() if key in GIVEN and str(value).strip()}
    loaded = load(decision.pk)
    evaluations = list(Evaluation.objects.filter(snapshot=decision.snapshot).order_by("category__order", "id")
                       .select_related("category"))  # fmt: skip
    assessments = [f"{d.category.name}: {d.get_verdict_display().lower()} (confidence "
                   f"{d.get_confidence_display().lower()})" for d in loaded.determinations]  # fmt: skip
    concerning = [e for e in evaluations if e.outcome in Outcome.concerning()]
    if evaluations:
        assessments.append(f"{len(evaluations)} evaluations of {decision.snapshot.name}; {len(concerning)} reached "
                           "signal met, crossed or saturated.")  # fmt: skip
    external = sorted({e.run_by for e in evaluations if e.is_external})
    from_record = {
        "release_date": decision.effective_date.isoformat() if decision.effective_date else "",
        "intended_uses": decision.scope_details,
        "restrictions": decision.conditions,
        "risk_assessments": assessments,
        "third_parties": ([f"External evaluators took part in {sum(e.is_external for e in evaluations)} of "
                           f"{len(evaluations)} evaluations: " + "; ".join(external)] if external else []),
    }  # fmt: skip
    fields, gaps = {}, []
    for spec in rules().transparency_report["fields"]:
        key, title = spec["key"], spec["title"]
        if key in inputs:
            source = f"given at issue by {given_by or 'the issuer'}"
            fields[key] = {"title": title, "value": inputs[key], "source": source}
        elif isinstance(from_record.get(key), list) and from_record[key]:
            fields[key] = {"title": title, "lines": from_record[key], "source": "the record"}
        elif from_record.get(key):
            fields[key] = {"title": title, "value": from_record[key], "source": "the record"}
        else:
            fields[key] = {"title": title, "value": None, "source": ""}
            gaps.append(f"{title}: not in the record" + (" — give it when issuing." if key in GIVEN else "."))
    illustration = decision.source_mark == SourceMark.ILLUSTRATION or decision.is_recorded
    return {
        "kind": "transparency_report",
        "name": rules().transparency_report["name"],
        "source": rules().transparency_report["source"],
        "rules_read_on": rules().read_on,
        "decision": {"id": decision.pk, "reference": decision.reference, "title": decision.title,
                     "status": decision.get_status_display(), "scope": decision.get_scope_display()},  # fmt: skip
        "model": {"name": decision.snapshot.model.name, "developer": decision.snapshot.model.developer},
        "illustration": illustration,
        "fields": fields,
        "gaps": gaps,
    }
