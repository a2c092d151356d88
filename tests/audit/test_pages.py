"""The audit page: auditors and admins only; filterable; keyset pages with no COUNT."""

import pytest
from django.urls import reverse

from riskreg.audit.models import AuditEvent
from riskreg.decisions.models import ReleaseDecision

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fixture, status", [("viewer", 403), ("evaluator", 403), ("approver", 403),
                                             ("auditor", 200), ("superuser", 200)])  # fmt: skip
def test_only_auditors_and_admins_see_the_trail(client, request, fixture, status):
    client.force_login(request.getfixturevalue(fixture))
    assert client.get(reverse("audit:list")).status_code == status
    assert client.get(reverse("audit:export", args=["csv"])).status_code == status


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_shows_each_events_field_level_changes(client, auditor, demo):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"model": "decisions.ReleaseDecision", "action": "~"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "in_review" in html and "approved" in html
    events = response.context["events"]
    assert events and {event.model for event in events} == {"decisions.ReleaseDecision"}


def test_events_link_to_their_record(client, auditor, demo):
    client.force_login(auditor)
    decision = ReleaseDecision.objects.get(reference="D8")
    response = client.get(reverse("audit:list"), {"model": "decisions.ReleaseDecision", "object_id": decision.pk})
    assert f'href="{decision.get_absolute_url()}"' in response.content.decode()


def test_it_filters_by_user_and_by_record(client, auditor, demo):
    client.force_login(auditor)
    pk = str(ReleaseDecision.objects.get(reference="D8").pk)
    decision_events = AuditEvent.objects.filter(model="decisions.ReleaseDecision", object_id=pk)
    response = client.get(reverse("audit:list"), {"model": "decisions.ReleaseDecision", "object_id": pk})
    assert len(decision_events) >= 2  # created, recorded from the card
    assert [e.seq for e in response.context["events"]] == list(decision_events.values_list("seq", flat=True))
    response = client.get(reverse("audit:list"), {"user": "nobody"})
    assert response.context["events"] == []


def test_pages_are_keyset_pages_that_never_count(client, auditor, demo, django_assert_max_num_queries):
    client.force_login(auditor)
    first = client.get(reverse("audit:list"))
    seqs = [event.seq for event in first.context["events"]]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    before = first.context["next_before"]
    with django_assert_max_num_queries(8) as captured:
        deep = client.get(reverse("audit:list"), {"before": before})
    assert all(event.seq < before for event in deep.context["events"])
    assert not any("COUNT(" in query["sql"].upper() for query in captured.captured_queries)


def test_a_bad_filter_value_is_shown_not_a_500(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"since": "not a date"})
    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()
