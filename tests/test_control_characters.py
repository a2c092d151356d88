"""Control characters in text (issue 27): a NUL is a database error on PostgreSQL (its text cannot hold one),
and other control characters have no place in a record. One rule (riskreg/lib/text.py), on the models'
fields (so forms, the admin and commands refuse them), with a clear message beside the field; nothing is
written. Runs on SQLite and, in make test's second pass, on PostgreSQL, where the NUL was a 500."""

import datetime

import pytest
from django.db import transaction
from django.urls import reverse

import factories as make
from riskreg.audit.models import AuditEvent
from riskreg.decisions.forms import ReleaseDecisionForm, SignOffForm
from riskreg.decisions.models import ReleaseDecision
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def _risk():
    with transaction.atomic():
        return Risk.objects.create(code="R-9", title="Weights exfiltration", description="d", owner="team",
                                   inherent_likelihood=3, inherent_impact=4, residual_likelihood=2,
                                   residual_impact=4, review_interval_days=30)  # fmt: skip


@pytest.mark.parametrize("note", ["checked\x00", "checked \x1b[31m red", "two\nlines"])
def test_a_review_note_with_a_nul_or_a_control_character_is_refused_beside_the_field(client, evaluator, note):
    risk = _risk()
    events = AuditEvent.objects.count()
    client.force_login(evaluator)
    response = client.post(reverse("risks:review", args=[risk.pk]), {"note": note})
    assert response.status_code == 400
    page = response.content.decode()
    error = page.split('id="review-note-error"')[1].split("</span>")[0]
    assert "One line only" in error and "Nothing was recorded." in error
    assert page.index('id="review-note"') < page.index('id="review-note-error"')  # beside the field
    risk.refresh_from_db()
    assert risk.last_reviewed_at is None and risk.history.count() == 1 and AuditEvent.objects.count() == events


def test_a_plain_review_note_is_still_kept(client, evaluator):
    risk = _risk()
    client.force_login(evaluator)
    assert client.post(reverse("risks:review", args=[risk.pk]), {"note": "Controls re-tested"}).status_code == 302
    assert risk.history.latest().history_change_reason == "reviewed: Controls re-tested"


RISK = {"code": "R-10", "title": "Sabotage", "description": "d", "owner": "team", "inherent_likelihood": 3,
        "inherent_impact": 3, "residual_likelihood": 2, "residual_impact": 2, "treatment": "mitigate",
        "status": "open", "confidence": "not_stated", "source_mark": "verified"}  # fmt: skip


@pytest.mark.parametrize("field", ["description", "mitigations", "source_note"])
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[2J", "\x7f", "\x9b"])
def test_the_risk_form_refuses_control_characters_in_its_texts(client, evaluator, field, bad):
    client.force_login(evaluator)
    response = client.post(reverse("risks:create"), {**RISK, field: f"Line one\nline{bad}two"})
    assert response.status_code == 200
    said = "Null characters are not allowed." if bad == "\x00" else "cannot be stored: remove it"  # Django's own
    assert said in " ".join(response.context["form"].errors.get(field, []))
    assert not Risk.objects.exists()


def test_the_risk_form_keeps_tabs_and_line_breaks_in_its_texts(client, evaluator):
    client.force_login(evaluator)
    response = client.post(reverse("risks:create"), {**RISK, "description": "One\tcolumn\r\nTwo"})
    assert response.status_code == 302
    assert Risk.objects.get().description == "One\tcolumn\r\nTwo"


@pytest.mark.parametrize("field", ["scope_details", "conditions", "rationale", "source_note"])
def test_the_decision_form_refuses_control_characters_in_its_texts(field):
    snap, version = make.snapshot(), make.framework_version()
    data = {"snapshot": snap.pk, "framework_version": version.pk, "title": "Pilot", "scope": "limited_pilot",
            "rationale": "Because.", "source_mark": "verified", field: "Fine until here\x1b[8m hidden"}  # fmt: skip
    form = ReleaseDecisionForm(data)
    assert not form.is_valid() and "cannot be stored" in " ".join(form.errors[field])


def test_parts_of_a_decision_and_a_rejection_comment_refuse_control_characters():
    decision = make.decision(effective_date=datetime.date(2026, 1, 1))
    determination = make.determination(decision, reasoning="fine")
    determination.reasoning = "Looks\x00 fine"
    with pytest.raises(Exception) as refused:
        determination.full_clean()
    assert "cannot be stored" in str(refused.value)
    form = SignOffForm({"verdict": "reject", "comment": "No\x1b[8m hidden"}, decision=decision, user=make.user(),
                       digest="0" * 64)  # fmt: skip
    assert not form.is_valid() and "cannot be stored" in " ".join(form.errors["comment"])


# -- one-line fields: titles, references, names (they end up in mail subjects and lines) --------------------


INJECTED = "Pilot\r\nBcc: leak@evil.example"


@pytest.mark.parametrize("field", ["title", "reference", "basis", "decided_by", "source_section"])
@pytest.mark.parametrize("bad", [INJECTED, "Pilot\nline two", "Pilot\ttabbed", "Pilot\u2028separated", "P\x00"])
def test_the_decision_form_refuses_line_breaks_in_one_line_fields(field, bad):
    snap, version = make.snapshot(), make.framework_version()
    data = {"snapshot": snap.pk, "framework_version": version.pk, "title": "Pilot", "scope": "limited_pilot",
            "rationale": "Because.", "source_mark": "verified", field: bad}  # fmt: skip
    form = ReleaseDecisionForm(data)
    assert not form.is_valid() and field in form.errors
    if "\x00" not in bad:  # (Django's own words for a NUL)
        assert "One line only" in " ".join(form.errors[field])


def test_a_decision_title_with_a_mail_header_is_refused_on_its_page_and_nothing_is_written(client, evaluator):
    snap, version = make.snapshot(), make.framework_version()
    client.force_login(evaluator)
    response = client.post(reverse("decisions:create"), {
        "snapshot": snap.pk, "framework_version": version.pk, "title": INJECTED, "scope": "limited_pilot",
        "rationale": "Because.", "source_mark": "verified"})  # fmt: skip
    assert response.status_code == 200
    assert "One line only: this text holds a line break (CR)" in response.content.decode()
    assert not ReleaseDecision.objects.exists()


@pytest.mark.parametrize("field", ["code", "title", "owner"])
def test_the_risk_form_refuses_line_breaks_in_one_line_fields(client, evaluator, field):
    client.force_login(evaluator)
    response = client.post(reverse("risks:create"), {**RISK, field: "R1\r\nBcc: x@ev.il"})
    assert response.status_code == 200 and "One line only" in " ".join(response.context["form"].errors[field])
    assert not Risk.objects.exists()


def test_one_line_fields_of_evaluations_incidents_and_titles_refuse_line_breaks():
    from django.core.exceptions import ValidationError

    from riskreg.frameworks.models import GovernanceTitle

    evaluation = make.evaluation()
    evaluation.title, evaluation.run_by, evaluation.score_note = INJECTED, "Team\nB", "a\rb"
    with pytest.raises(ValidationError) as refused:
        evaluation.full_clean()
    assert {"title", "run_by", "score_note"} <= set(refused.value.message_dict)
    with pytest.raises(ValidationError) as refused:
        GovernanceTitle(name="CEO\nBcc: x@evil.example").full_clean()
    assert "name" in refused.value.message_dict
