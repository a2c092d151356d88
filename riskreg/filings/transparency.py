"""The transparency report (SB 53 / RAISE fields), from the record and what the compliance officer gives.

Facts the record holds (release date, intended uses, restrictions, the risk assessments and who took
part) come from the decision; facts it does not hold (the website, a contact, languages, modalities)
are given when the report is issued and marked as given by that person; anything still missing is a gap.
"""

from collections import Counter

from riskreg import provenance
from riskreg.decisions.digest import load
from riskreg.evaluations.models import Evaluation, Outcome

from .rules import rules

GIVEN = ("website", "contact", "languages", "modalities")  # never in the record: given at issue time


def build(decision, inputs: dict | None = None, given_by: str = "") -> dict:
    inputs = {key: str(value).strip() for key, value in (inputs or {}).items() if key in GIVEN and str(value).strip()}
    loaded = load(decision.pk)
    model = decision.snapshot.model
    # Every evaluation of the model, whichever snapshot it is filed under: external testers often worked on an
    # earlier snapshot (the demo's card files most of its external tests under the early one).
    evaluations = list(Evaluation.objects.filter(snapshot__model=model).order_by("category__order", "id")
                       .select_related("category", "snapshot"))  # fmt: skip
    of_this = [e for e in evaluations if e.snapshot_id == decision.snapshot_id]
    # Each verdict in its threshold's own words (RSP v3.0: "Applicable"), with where it comes from.
    assessments: list = [{"text": f"{d.category.name}: {d.verdict_label} (confidence "
                                  f"{d.get_confidence_display().lower()}"
                                  + (f", {provenance.READING}" if provenance.of(d).reads("confidence") else "") + ")",
                          "provenance": provenance.of(d).as_json()} for d in loaded.determinations]  # fmt: skip
    concerning = [e for e in of_this if e.outcome in Outcome.concerning()]
    if of_this:
        # Which of them a reader must not take as the source's plain fact, by mark (an illustration, a secondary
        # source, an inference, what cannot be verified) and imported runs, whose outcome is the import rule's.
        kinds = Counter(p.mark_word if p.flagged else "imported, their outcome by the import's rule"
                        for e in of_this if (p := provenance.of(e)).flagged or p.origin == provenance.Origin.IMPORTED)
        told = "; ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        assessments.append(f"{len(of_this)} evaluations recorded for {decision.snapshot.name}; {len(concerning)} "
                           "reached signal met, crossed or saturated"
                           + (f". Of the {len(of_this)}, not the source's plain fact: {told} (see each evaluation's "
                              "mark)." if told else "."))  # fmt: skip
    outside = [e for e in evaluations if e.is_external]
    snapshots = len({e.snapshot_id for e in evaluations})
    third_parties = []
    if outside:
        on_this = sum(1 for e in outside if e.snapshot_id == decision.snapshot_id)
        third_parties = [
            f"External evaluators took part in {len(outside)} of the {len(evaluations)} evaluations recorded for "
            f"{model.name} across its {snapshots} snapshot{'s' if snapshots != 1 else ''} ({on_this} of "
            f"{len(of_this)} filed under {decision.snapshot.name}, the version this decision covers): "
            + "; ".join(sorted({e.run_by for e in outside}))
        ]  # fmt: skip
    from_record = {
        "release_date": decision.effective_date.isoformat() if decision.effective_date else "",
        "intended_uses": decision.scope_details,
        "restrictions": decision.conditions,
        "risk_assessments": assessments,
        "third_parties": third_parties,
    }  # fmt: skip
    of_decision = provenance.of(decision).as_json()
    from_decision = ("release_date", "intended_uses", "restrictions")
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
            if key in from_decision:
                fields[key]["provenance"] = of_decision
        else:
            fields[key] = {"title": title, "value": None, "source": ""}
            gaps.append(f"{title}: not in the record" + (" — give it when issuing." if key in GIVEN else "."))
    illustration = of_decision["origin"] in (provenance.Origin.ILLUSTRATION, provenance.Origin.RECORDED)
    return {
        "kind": "transparency_report",
        "name": rules().transparency_report["name"],
        "source": rules().transparency_report["source"],
        "rules_read_on": rules().read_on,
        "decision": {"id": decision.pk, "reference": decision.reference, "title": decision.title,
                     "status": decision.status_words, "scope": decision.get_scope_display(),
                     "provenance": of_decision},  # fmt: skip
        "model": {"name": decision.snapshot.model.name, "developer": decision.snapshot.model.developer},
        "illustration": illustration,
        **({"notice": provenance.notice(decision)} if illustration else {}),
        "fields": fields,
        "gaps": gaps,
    }
