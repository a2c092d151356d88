"""An id no bigint column can hold is answered as "no such record", never a 500, on SQLite and PostgreSQL.

Django 5.2 does this itself for the lookups it compares to an integer field (exact, lt, lte, gt, gte:
IntegerFieldOverflow turns an out-of-range value into an empty or full result instead of sending it),
so a model-choice field says "invalid choice", a filter finds nothing and get_object_or_404 answers 404.
These tests post and ask for such ids where the app once had a guard of its own. The one guard left
is riskreg.lib.forms.bound_choice_fields, for multiple model-choice fields: Django's `pk__in` has no such
check and SQLite raises OverflowError on the id (test_a_multiple_choice_field_...).
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

import factories as make
from riskreg.decisions.models import ReleaseDecision
from riskreg.importers.service import InspectLogError, find_snapshot
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db
HUGE = [str(2**63), str(2**64), str(10**30)]  # beyond a signed (and an unsigned) 64-bit integer
NEGATIVE = [str(-(2**63) - 1), str(-(10**30))]


def _errors(response, field):
    return response.context["form"].errors.get(field, [])


@pytest.mark.parametrize("value", HUGE + NEGATIVE)
def test_a_model_choice_field_calls_a_huge_id_an_invalid_choice(client, superuser, demo, value):
    client.force_login(superuser)
    before = Risk.objects.count()

    response = client.post(reverse("risks:create"), {"title": "R", "category": value, "owner_user": value})

    assert response.status_code == 200
    assert "Select a valid choice" in " ".join(_errors(response, "category") + _errors(response, "owner_user"))
    assert Risk.objects.count() == before


@pytest.mark.parametrize("value", HUGE + NEGATIVE)
def test_a_multiple_choice_field_calls_a_huge_id_an_invalid_choice(client, superuser, demo, value):
    client.force_login(superuser)
    before = Risk.objects.count()

    response = client.post(reverse("risks:create"), {"title": "R", "evaluations": [value]})

    assert response.status_code == 200
    assert any("not one of the available choices" in error for error in _errors(response, "evaluations"))
    assert Risk.objects.count() == before


@pytest.mark.parametrize("value", HUGE + NEGATIVE)
def test_the_decision_forms_call_a_huge_id_an_invalid_choice(client, superuser, demo, value):
    client.force_login(superuser)
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")

    created = client.post(reverse("decisions:create"), {"snapshot": value, "framework_version": value})
    cited = client.post(reverse("decisions:determination-add", args=[draft.pk]),
                        {"category": value, "threshold": value, "cited_evaluations": [value]})  # fmt: skip
    picker = client.get(reverse("decisions:determination-add", args=[draft.pk]), {"category": value})

    assert created.status_code == cited.status_code == picker.status_code == 200
    assert _errors(created, "snapshot") and _errors(cited, "category") and _errors(cited, "cited_evaluations")
    assert picker.context["form"].chosen_category is None  # the picker offers every category's evaluations


@pytest.mark.parametrize("value", HUGE + NEGATIVE)
def test_list_filters_and_keyset_pages_take_a_huge_id(client, viewer, value):
    client.force_login(viewer)
    make.evaluation(title="An evaluation")

    for url, params in [
        ("evaluations:list", {"snapshot": value, "category": value, "model": value}),
        ("risks:list", {"category": value}),
        ("decisions:list", {"framework_version": value, "model": value}),
    ]:
        assert client.get(reverse(url), params).status_code == 200, url
    for url in ("evaluations:list", "risks:list", "decisions:list"):
        assert client.get(reverse(url), {"after": value}).status_code == 200, url
    if not value.startswith("-"):  # newest first: the rows "after" a key above every id are all of them
        assert "An evaluation" in client.get(reverse("evaluations:list"), {"after": value}).content.decode()


@pytest.mark.parametrize("value", HUGE)
def test_pages_found_by_a_huge_id_answer_404(client, superuser, value):
    client.force_login(superuser)
    for url in (f"/risks/{value}/", f"/decisions/{value}/", f"/evaluations/{value}/", f"/audit/prove/{value}/",
                f"/audit/checkpoint/{value}", f"/risks/{value}/history/"):  # fmt: skip
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("value", HUGE + NEGATIVE)
def test_the_audit_page_takes_a_huge_before(client, auditor, value):
    client.force_login(auditor)
    make.evaluation(title="An evaluation")  # a few events

    response = client.get(reverse("audit:list"), {"before": value})

    assert response.status_code == 200
    # older than a key past every event: the newest page; older than one below every event: none
    assert bool(response.context["events"]) == (not value.startswith("-"))


@pytest.mark.parametrize("value", HUGE)
def test_signing_a_checkpoint_with_a_huge_next_lands_on_a_404_not_a_500(client, auditor, value):
    from django.contrib.auth.models import Permission

    auditor.user_permissions.add(Permission.objects.get(codename="export_auditevent"))
    client.force_login(auditor)
    response = client.post(reverse("audit:sign-checkpoint"), {"next": value}, follow=True)
    assert response.status_code in (200, 404)


@pytest.mark.parametrize("value", HUGE)
def test_the_gate_command_says_no_such_decision(demo, value):
    with pytest.raises(CommandError, match="No release decision"):
        call_command("gate", value, stdout=io.StringIO())


@pytest.mark.parametrize("value", HUGE)
def test_the_importer_finds_no_snapshot_by_a_huge_id(demo, value):
    with pytest.raises(InspectLogError, match="No snapshot with id or name"):
        find_snapshot(value)


@pytest.mark.parametrize("value", HUGE)
def test_the_consistency_proof_answers_a_huge_checkpoint_number(client, auditor, value):
    client.force_login(auditor)
    response = client.get(reverse("audit:consistency"), {"old": "1", "new": value})
    assert response.status_code in (400, 404)

