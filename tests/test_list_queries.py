"""Every list page runs the same number of queries for 10 rows as for 500."""

import re

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


def _field(row, name):
    """A page's row: a dict of values, or a decision (its status needs the instance)."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


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
        seen += [_field(row, label) for row in response.context["page_rows"]]
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
    titles = [_field(row, "title") for row in response.context["page_rows"]]
    assert titles == sorted(titles) and len(titles) == 25


def test_a_keyset_page_keeps_the_filter_and_survives_a_mangled_link(client, superuser):
    client.force_login(superuser)
    add_rows(60, superuser)
    response = client.get(reverse("evaluations:list") + "?q=E")
    assert response.status_code == 200
    assert "q=E&amp;after=" in response.content.decode()
    response = client.get(reverse("evaluations:list") + "?q=E1")
    assert {row["title"] for row in response.context["page_rows"]} == set(
        Evaluation.objects.filter(title__icontains="E1").values_list("title", flat=True)
    )
    assert client.get(reverse("evaluations:list") + "?after=not-a-number").status_code == 200
    assert client.get(reverse("risks:list") + "?after=" + "x" * 5000).status_code == 200


@pytest.mark.parametrize("url", ["evaluations:list", "risks:list", "decisions:list"])
def test_a_list_page_reads_its_option_lists_without_a_server_side_cursor(client, superuser, url, monkeypatch):
    """`.iterator()` opens a server-side cursor on PostgreSQL (four round trips for a short option list);
    a list page reads its rows and its filters' options in plain queries instead (issue 20)."""
    from django.db.models.query import QuerySet

    client.force_login(superuser)
    add_rows(3, superuser)
    client.get(reverse(url))  # stamps the session

    def refuse(self, *args, **kwargs):
        raise AssertionError("a list page iterated a queryset with .iterator()")

    monkeypatch.setattr(QuerySet, "iterator", refuse)
    response = client.get(reverse(url))
    assert response.status_code == 200
    assert b"<option" in response.content


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def _snapshot(model, name):
    from riskreg.evaluations.models import Snapshot

    return Snapshot.objects.create(model=model, name=name, kind="final")


def test_the_snapshot_filter_offers_only_the_chosen_models_snapshots(client, superuser):
    """Every snapshot of every model on every page grew with the register and cost more than the rows:
    the snapshot filter lists the chosen model's snapshots, or the one a link names, else none."""
    client.force_login(superuser)
    first, second = _snapshot(make.snapshot().model, "first-a"), _snapshot(make.snapshot().model, "second-a")
    _snapshot(first.model, "first-b")
    page = client.get(reverse("evaluations:list")).content.decode()
    assert _options(page, "snapshot") == ["Any (choose a model to list its snapshots)"]
    page = client.get(reverse("evaluations:list"), {"model": first.model_id}).content.decode()
    assert sorted(_options(page, "snapshot")[1:]) == [f"{first.model.name} — {name}" for name in ("final", "first-a",
                                                                                                 "first-b")]
    page = client.get(reverse("evaluations:list"), {"snapshot": second.pk}).content.decode()
    assert f'<option value="{second.pk}" selected>{second.model.name} — second-a</option>' in page
    # A snapshot of another model than the one chosen (the model changed, the snapshot kept) is no choice.
    response = client.get(reverse("evaluations:list"), {"model": first.model_id, "snapshot": second.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert client.get(reverse("evaluations:list"), {"snapshot": "2" * 30}).status_code == 200


def test_a_drop_down_escapes_its_labels_and_marks_the_choice(client, superuser):
    client.force_login(superuser)
    snapshot = _snapshot(make.snapshot().model, "<b>x</b> & y")
    page = client.get(reverse("evaluations:list"), {"model": snapshot.model_id, "outcome": "crossed"}).content.decode()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "<b>x</b>" not in page
    assert '<option value="crossed" selected>' in page
    assert f'<option value="{snapshot.model_id}" selected>' in page


def test_sorted_pages_go_back_and_forth_and_past_the_end_says_so(client, superuser):
    client.force_login(superuser)
    add_rows(60, superuser)
    url = reverse("evaluations:list")
    page = client.get(url, {"sort": "-score", "page": "2"})
    assert [row["score"] for row in page.context["page_rows"]] == list(range(34, 9, -1))
    html = page.content.decode()
    assert "?sort=-score&amp;page=1" in html and "?sort=-score&amp;page=3" in html and "Page 2" in html
    last = client.get(url, {"sort": "-score", "page": "3"})
    assert len(last.context["page_rows"]) == 10 and "page=4" not in last.content.decode()
    for page_number in ("4", str(2**70), "-3", "x"):
        response = client.get(url, {"sort": "-score", "page": page_number})
        assert response.status_code == 200
    assert "past the end of the list" in client.get(url, {"sort": "-score", "page": "4"}).content.decode()
    assert "No evaluations match these filters" in client.get(url, {"q": "nothing like it"}).content.decode()


@pytest.mark.parametrize("name", ["evaluations:list", "decisions:list"])
def test_an_unknown_or_unsortable_sort_keeps_the_lists_own_order(client, superuser, name):
    client.force_login(superuser)
    add_rows(30, superuser)
    plain = client.get(reverse(name))
    for sort in ("nope", "evidence", "-id", "recorded_by__password"):
        response = client.get(reverse(name), {"sort": sort})
        assert [_field(row, "pk") for row in response.context["page_rows"]] == [
            _field(row, "pk") for row in plain.context["page_rows"]
        ], sort
        assert response.context["keyset"] and "Next page" in response.content.decode()


def test_a_header_starts_its_sort_at_the_first_page_and_the_filter_form_keeps_the_sort(client, superuser):
    client.force_login(superuser)
    add_rows(60, superuser)
    html = client.get(reverse("evaluations:list"), {"sort": "-score", "page": "2", "q": "E"}).content.decode()
    assert 'href="?q=E&amp;sort=title"' in html and 'href="?q=E&amp;sort=score"' in html
    assert '<input type="hidden" name="sort" value="-score">' in html
    after = client.get(reverse("evaluations:list"), {"q": "E"}).context["next_after"]
    html = client.get(reverse("evaluations:list"), {"q": "E", "after": after}).content.decode()
    assert 'href="?q=E&amp;sort=title"' in html and "after=" not in html.split("<tbody>")[0].split("<thead>")[1]
