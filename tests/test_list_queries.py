"""Every list page runs the same number of queries for 10 rows as for 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import factories as make
from riskreg.audit.chain import bulk_create_with_history
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.models import Evaluation
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def add_rows(n, user):
    snapshot, category, version = make.snapshot(), make.category(), make.framework_version()
    bulk_create_with_history(
        [Evaluation(snapshot=snapshot, category=category, title=f"E{i}", kind="survey", run_by="lab",
                    finding="f", source_section="1", recorded_by=user, score=i) for i in range(n)],
        Evaluation, user=user,
    )  # fmt: skip
    bulk_create_with_history(
        [Risk(code=f"Q{snapshot.pk}-{i}", title="r", description="d", owner="o", category=category,
              inherent_likelihood=1 + i % 5, inherent_impact=1 + i % 3, residual_likelihood=1,
              residual_impact=1) for i in range(n)],
        Risk, user=user,
    )  # fmt: skip
    bulk_create_with_history(
        [ReleaseDecision(snapshot=snapshot, framework_version=version, title=f"D{i}", scope="internal_use",
                         rationale="r", author=user) for i in range(n)],
        ReleaseDecision, user=user,
    )  # fmt: skip


@pytest.mark.parametrize("url", ["evaluations:list", "risks:list", "decisions:list", "audit:list", "home"])
def test_a_list_page_costs_the_same_queries_at_10_and_500_rows(client, superuser, url):
    client.force_login(superuser)
    add_rows(10, superuser)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(url)).status_code == 200
        return len(captured.captured_queries)

    count()  # the first request after logging in stamps the session (riskreg.lib.security): not a list cost
    at_10 = count()
    add_rows(490, superuser)
    assert Evaluation.objects.count() == 500
    if url == "audit:list":
        # The trail in words reads one query per kind of related record on the page (not per row), so the
        # count follows the mix of kinds shown, never the number of events: at most what it was.
        assert count() <= at_10
    else:
        assert count() == at_10


LISTS = [
    ("evaluations:list", Evaluation, "title"),
    ("risks:list", Risk, "code"),
    ("decisions:list", ReleaseDecision, "title"),
]


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("name, model, label", LISTS)
def test_keyset_pages_show_every_row_once_and_never_count(client, superuser, name, model, label):
    client.force_login(superuser)
    add_rows(60, superuser)
    seen, url, pages = [], reverse(name), 0
    while url:
        response, sql = _queries(client, url)
        assert not [q for q in sql if "__count" in q], "a list page counted the whole list"
        rows = response.context["table"].rows
        seen += [getattr(row.record, label) for row in rows]
        after = response.context["next_after"]
        url = f"{reverse(name)}?after={after}" if after is not None else None
        pages += 1
        assert pages < 10
    assert sorted(seen) == sorted(model.objects.values_list(label, flat=True))
    assert len(seen) == len(set(seen)) == model.objects.count()


@pytest.mark.parametrize("name, model, label", LISTS)
def test_sorted_pages_do_not_count_either(client, superuser, name, model, label):
    client.force_login(superuser)
    add_rows(60, superuser)
    response, sql = _queries(client, reverse(name) + "?sort=title&page=2")
    assert not [q for q in sql if "__count" in q]
    titles = [row.record.title for row in response.context["table"].page.object_list]
    assert titles == sorted(titles) and len(titles) == 25


def test_a_keyset_page_keeps_the_filter_and_survives_a_mangled_link(client, superuser):
    client.force_login(superuser)
    add_rows(60, superuser)
    response = client.get(reverse("evaluations:list") + "?q=E")
    assert response.status_code == 200
    assert "q=E&amp;after=" in response.content.decode()
    response = client.get(reverse("evaluations:list") + "?q=E1")
    assert {row.record.title for row in response.context["table"].rows} == set(
        Evaluation.objects.filter(title__icontains="E1").values_list("title", flat=True)
    )
    assert client.get(reverse("evaluations:list") + "?after=not-a-number").status_code == 200
    assert client.get(reverse("risks:list") + "?after=" + "x" * 5000).status_code == 200
