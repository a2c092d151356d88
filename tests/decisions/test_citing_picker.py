"""Choosing which evaluations a determination cites (issue 16): only the chosen category's, grouped by
snapshot with outcome, score, section and date, cited ones first; other snapshots only when asked."""

import pytest
from django.urls import reverse

import factories as make
from riskreg.evaluations.models import Snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    decision = make.decision()
    cyber, bio = make.category("cyber"), make.category("bio")
    same = make.evaluation(snap=decision.snapshot, cat=cyber, title="Cyber range", source_section="3.4",
                           outcome="signal_met", score=0.83, score_unit="pass@1")  # fmt: skip
    other_cat = make.evaluation(snap=decision.snapshot, cat=bio, title="Bio uplift")
    early = Snapshot.objects.create(model=decision.snapshot.model, name="early", kind="early")
    earlier = make.evaluation(snap=early, cat=cyber, title="Early cyber range")
    return decision, cyber, same, other_cat, earlier


def _page(client, decision, **query):
    return client.get(reverse("decisions:determination-add", args=[decision.pk]), query).content.decode()


def test_the_chosen_category_only_with_what_each_evaluation_found(client, evaluator, setting):
    decision, cyber, same, other_cat, earlier = setting
    client.force_login(evaluator)
    page = _page(client, decision, category=cyber.pk)
    assert "Cyber range · §3.4 · Alert / signal met · 0.83 pass@1" in page
    assert "Bio uplift" not in page and "Early cyber range" not in page
    assert "this decision&#x27;s snapshot" in page or "this decision's snapshot" in page


def test_other_snapshots_when_asked_marked_as_such(client, evaluator, setting):
    decision, cyber, same, other_cat, earlier = setting
    client.force_login(evaluator)
    page = _page(client, decision, category=cyber.pk, other_snapshots="1")
    assert "Early cyber range" in page and "another snapshot of" in page
    assert page.index("Cyber range · §3.4") < page.index("Early cyber range")


def test_cited_ones_come_first_when_editing(client, evaluator, setting):
    decision, cyber, same, other_cat, earlier = setting
    late = make.evaluation(snap=decision.snapshot, cat=cyber, title="Zeta check", source_section="9.9")
    determination = make.determination(decision, cat=cyber)
    determination.cited_evaluations.add(late)
    client.force_login(evaluator)
    page = client.get(reverse("decisions:determination-edit", args=[decision.pk, determination.pk])).content.decode()
    assert "★ cited · Zeta check" in page
    assert page.index("Zeta check") < page.index("Cyber range · §3.4")


def test_a_bad_category_in_the_address_is_ignored_not_an_error(client, evaluator, setting):
    decision = setting[0]
    client.force_login(evaluator)
    for value in ("99999999999999999999999", "x", "-1", "²"):
        response = client.get(reverse("decisions:determination-add", args=[decision.pk]), {"category": value})
        assert response.status_code == 200


def test_saving_a_determination_keeps_its_citations_of_other_snapshots(client, evaluator, setting):
    decision, cyber, same, other_cat, earlier = setting
    determination = make.determination(decision, cat=cyber)
    determination.cited_evaluations.add(same, earlier)  # one of another snapshot of the model
    client.force_login(evaluator)
    url = reverse("decisions:determination-edit", args=[decision.pk, determination.pk])
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:500]
    assert set(determination.cited_evaluations.all()) == {same, earlier}
