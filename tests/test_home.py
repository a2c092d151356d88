"""The home page: login first, then each model's latest decision and the coverage it stands on."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_login_page_renders_with_the_apps_own_stylesheet(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/css/riskreg.css" in html
    assert "https://" not in html and "//cdn" not in html


def test_it_lists_each_model_with_its_latest_decision(client, viewer, demo):
    client.force_login(viewer)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Claude Mythos Preview" in html
    assert "D8 Limited access for Project Glasswing partners" in html
    assert "Responsible Scaling Policy v3.0" in html


def test_it_shows_cyber_as_a_coverage_gap_under_rsp_v3(client, viewer, demo):
    client.force_login(viewer)
    response = client.get(reverse("home"))
    (row,) = response.context["rows"]
    gaps = [cell.category.slug for cell in row.gaps]
    assert gaps == ["cyber"]
    assert "coverage gap in\nCyber operations" in response.content.decode()


def test_its_query_count_does_not_grow_with_the_data(client, viewer, demo, django_assert_max_num_queries):
    import factories as make

    client.force_login(viewer)
    # 12 for the page, about 10 for the review state of its decisions (a fixed batch, see digest.load_many)
    with django_assert_max_num_queries(26) as few:  # +1 review conditions (format 3), +1 the latest per model
        client.get(reverse("home"))
    for _ in range(5):
        snap = make.snapshot()
        make.decision(snap=snap)
        make.evaluation(snap=snap, outcome="saturated")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("home"))


def test_it_reads_only_each_models_latest_decision_however_many_it_has(client, viewer, demo):
    """Constant work in the number of decisions (issue 20): 40 more decisions of one model build no more
    decisions and run no more queries; the page still shows the model's latest decision that is no draft."""
    from django.db import connection
    from django.db.models.signals import post_init
    from django.test.utils import CaptureQueriesContext

    import factories as make
    from riskreg.decisions.models import ReleaseDecision

    client.force_login(viewer)
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    def measure():
        built.clear()
        post_init.connect(count, sender=ReleaseDecision)
        try:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("home"))
        finally:
            post_init.disconnect(count, sender=ReleaseDecision)
        return len(built), len(queries.captured_queries), response

    before = measure()
    final = ReleaseDecision.objects.get(reference="D8").snapshot
    for _ in range(40):
        make.decision(snap=final)  # drafts: the model's latest decision that is no draft stays D8
    after = measure()
    assert after[:2] == before[:2], (before[:2], after[:2])
    latest = {row.model.slug: row.latest_decision for row in after[2].context["rows"]}
    assert latest["claude-mythos-preview"].reference == "D8"


def test_logout_ends_the_session(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_a_login_without_a_role_gets_the_same_403_as_elsewhere(client, django_user_model):
    nobody = django_user_model.objects.create_user(username="no-role", password="pw-for-tests")
    client.force_login(nobody)

    home = client.get(reverse("home"))
    elsewhere = client.get(reverse("evaluations:list"))

    assert home.status_code == elsewhere.status_code == 403
    for page in (home, elsewhere):  # the same page, each naming the permission it needs
        assert "You may not open this page" in page.content.decode() and "with no role yet" in page.content.decode()
    assert "rows" not in (home.context or {})
