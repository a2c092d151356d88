"""riskreg.provenance: where a record comes from, and which of its values are riskreg's reading (issue 28)."""

import pytest
from django.template import Context, Template

from riskreg import provenance
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.models import Evaluation
from riskreg.risks.models import Risk

E = "evaluations.Evaluation"


@pytest.mark.parametrize(("values", "origin", "mark"), [
    ({"source_mark": "verified", "source_section": "2.2.5.1"}, "recorded", "verified"),
    ({"source_mark": "secondary", "source_section": ""}, "recorded", "secondary"),  # a source, though no section
    ({"source_mark": "illustration", "source_section": "3.2"}, "illustration", "illustration"),
    ({"source_mark": "imported", "source_section": ""}, "imported", "imported"),
    ({"source_mark": "verified", "source_section": ""}, "entered", ""),  # typed in here, citing nothing
])  # fmt: skip
def test_a_records_origin_follows_its_mark_and_section(values, origin, mark):
    made = provenance.make(E, values)
    assert (made.origin, made.mark) == (origin, mark)


def test_a_decision_is_recorded_from_a_source_or_decided_here_unless_it_is_an_illustration():
    recorded = ReleaseDecision(provenance="published_source", source_mark="verified", source_section="1.2")
    decided = ReleaseDecision(provenance="decided", source_mark="verified")
    invented = ReleaseDecision(provenance="decided", source_mark="illustration", source_note="Made up to show it.")
    assert provenance.of(recorded).origin == "recorded" and provenance.of(decided).origin == "decided"
    assert provenance.of(invented).is_illustration and provenance.of(invented).flagged
    assert provenance.notice(recorded).startswith("Recorded from a published source (§1.2)")
    assert provenance.notice(invented).startswith("An illustration made in riskreg") and "Made up" in provenance.notice(
        invented)  # fmt: skip
    assert provenance.notice(decided) == ""


def test_a_value_the_source_does_not_state_is_riskregs_reading_only_on_a_recorded_record():
    recorded = Evaluation(source_mark="verified", source_section="2.3", confidence="low")
    unstated = Evaluation(source_mark="verified", source_section="2.3", confidence="not_stated")
    entered = Evaluation(source_mark="verified", source_section="", confidence="high")  # the entrant's own view
    imported = Evaluation(source_mark="imported", confidence="not_stated", outcome="signal_met")
    assert provenance.of(recorded).readings == ("confidence",)
    assert provenance.of(unstated).readings == () and provenance.of(entered).readings == ()
    assert provenance.of(imported).readings == ("outcome",)  # the import rule's classification
    risk = Risk(source_mark="verified", source_section="4.1.1", inherent_likelihood=3, inherent_impact=4,
                residual_likelihood=2, residual_impact=3, treatment="mitigate", status="open", owner="",
                confidence="not_stated")  # fmt: skip
    assert provenance.of(risk).readings == ("scores", "treatment", "status")
    assert provenance.of(risk).readings_text == "scores, treatment and status are riskreg's reading"


def test_one_json_shape_and_one_text():
    made = provenance.make(E, {"source_mark": "secondary", "source_section": "alignment risk update §5.4.4",
                               "source_note": "Not in the card.", "confidence": "low"})  # fmt: skip
    assert made.as_json() == {
        "origin": "recorded", "origin_label": "Recorded from a source", "mark": "secondary",
        "mark_label": "Secondary source only", "section": "alignment risk update §5.4.4", "note": "Not in the card.",
        "riskreg_readings": ["confidence"],
        "text": "Recorded from a source, alignment risk update §5.4.4 — Secondary source only",
    }  # fmt: skip
    verified = provenance.make(E, {"source_mark": "verified", "source_section": "3.1"})
    assert verified.short == "§3.1 · Verified in the source"


def test_the_row_reader_agrees_with_the_record():
    names = ["pk", *provenance.fields_for(Evaluation)]
    for mark, section, confidence in [("verified", "1", "low"), ("imported", "", "high"), ("verified", "", "low"),
                                      ("illustration", "x", "not_stated"), ("inferred", "3.4", "moderate")]:
        record = Evaluation(source_mark=mark, source_section=section, confidence=confidence, outcome="signal_met")
        row = (1, *(getattr(record, name) for name in names[1:]))
        assert provenance.reader(Evaluation, names)(row) == provenance.of(record)


def test_the_tags_draw_a_record_its_json_shape_and_a_reading_alike():
    record = Evaluation(source_mark="inferred", source_section="3.4", source_note="Read from a figure.",
                        confidence="moderate")  # fmt: skip
    html = Template('{% load provenance %}{% provenance r %}|{% provenance j %}|{% reading r "confidence" %}|'
                    '{% provenance_flag r %}').render(Context({"r": record, "j": provenance.of(record).as_json()}))
    short, same, reading, flag = html.split("|")
    assert short == same and "§3.4 · Inference (interpretation)" in short and 'title="Read from a figure."' in short
    assert "riskreg&#x27;s reading" in reading and "mark-inferred" in flag
    verified = Evaluation(source_mark="verified", source_section="3.4", confidence="not_stated")
    assert Template('{% load provenance %}{% reading r "confidence" %}{% provenance_flag r %}').render(
        Context({"r": verified})) == ""  # fmt: skip
