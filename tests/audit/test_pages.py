"""The audit page: auditors and admins only; filterable; keyset pages with no COUNT."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

import factories as make
from riskreg.audit.models import AuditEvent
from riskreg.decisions import lifecycle
from riskreg.decisions.models import ReleaseDecision, SignOff

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fixture, status", [("viewer", 403), ("evaluator", 403), ("approver", 403),
                                             ("auditor", 200), ("superuser", 200)])  # fmt: skip
def test_only_auditors_and_admins_see_the_trail(client, request, fixture, status):
    client.force_login(request.getfixturevalue(fixture))
    assert client.get(reverse("audit:list")).status_code == status
    assert client.get(reverse("audit:export", args=["csv"])).status_code == status


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_it_shows_each_events_field_level_changes(client, auditor, demo):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"model": "decisions.ReleaseDecision", "action": "~"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "In review → Approved" in html or "Draft → Approved" in html
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
    assert len(seqs) == 25 and seqs == sorted(seqs, reverse=True)
    assert first.context["count"] == AuditEvent.objects.count()  # read from the head, not counted
    before = first.context["next_before"]
    with django_assert_max_num_queries(20) as captured:  # labels: one query per kind of related record, not per row
        deep = client.get(reverse("audit:list"), {"before": before})
    assert all(event.seq < before for event in deep.context["events"])
    assert not any("COUNT(" in query["sql"].upper() for query in captured.captured_queries)


def test_older_pages_walk_a_filtered_trail_once_each_newest_first(client, auditor, demo):
    """?before= pages with the list pages' keyset pager (riskreg.lib.pagination.keyset_page), keeping the filter."""
    client.force_login(auditor)
    wanted = AuditEvent.objects.filter(model="risks.Risk").order_by("-seq").values_list("seq", flat=True)
    assert len(wanted) > 25
    seen, query = [], {"model": "risks.Risk"}
    while True:
        page = client.get(reverse("audit:list"), query).context
        seen += [event.seq for event in page["events"]]
        if page["next_before"] is None:
            break
        query = {"model": "risks.Risk", "before": page["next_before"]}
    assert seen == list(wanted)


def test_a_bad_filter_value_is_shown_not_a_500(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"since": "not a date"})
    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()


def test_the_trail_reads_in_words(client, auditor, demo):
    """No `app.Model #id`, no column name, no list of ids: kinds, labels, names and field labels."""
    client.force_login(auditor)
    html = client.get(reverse("audit:list"), {"model": "decisions.SignOff"}).content.decode()
    for raw in ("decisions.SignOff #", "decision_id", "signer_id", "title_id", "[3, 7]"):
        assert raw not in html, raw
    sign_off = SignOff.objects.select_related("decision", "title").first()
    assert "Sign-off" in html and str(sign_off.decision) in html and "Signer" in html
    html = client.get(reverse("audit:list"), {"model": "frameworks.GovernanceTitle"}).content.decode()
    holder = get_user_model().objects.get(username="illustration-ceo")
    assert holder.get_full_name() and holder.get_full_name() != holder.username
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert "Holders" in html and holder.get_full_name() in body and "[" not in body  # people by name, as "by" says


def test_the_user_filter_matches_a_full_name_and_the_record_type_reads_as_words(client, auditor, demo):
    client.force_login(auditor)
    person = make.user("kim", first_name="Kimberly", last_name="Okafor")
    lifecycle.submit(make.decision(author=person, title="Written by Kim"), by=person)  # an event by her
    response = client.get(reverse("audit:list"), {"user": "kimberly okafor"})
    assert response.context["count"] == AuditEvent.objects.filter(user=person).count() > 0
    assert client.get(reverse("audit:list"), {"user": "kimberly smith"}).context["count"] == 0
    options = response.context["filter"].form.fields["model"].choices
    labels = [label for value, label in options if value]
    assert "Release decision" in labels and "API token" in labels and "AI model" in labels
    assert not any("." in label for label in labels)


def test_the_user_filter_matches_part_of_a_name_and_the_count_says_how_many(client, auditor, demo):
    client.force_login(auditor)
    response = client.get(reverse("audit:list"), {"user": "LOADER"})  # the demo loader's first name, in capitals
    matching = AuditEvent.objects.filter(user__first_name__icontains="loader")
    assert response.context["count"] == matching.count() > 0
    assert f"{matching.count()} events match" in response.content.decode()


def test_a_decisions_history_page_lists_its_parts_events(client, viewer, demo):
    decision = ReleaseDecision.objects.get(reference="ILLUS-1")
    client.force_login(viewer)
    page = client.get(decision.get_absolute_url()).content.decode()
    url = reverse("decisions:history", args=[decision.pk])
    assert f'href="{url}"' in page
    response = client.get(url)
    kinds = {event.model for event in response.context["events"]}
    assert {"decisions.ReleaseDecision", "decisions.Determination", "decisions.GapAcknowledgement",
            "decisions.SignOff", "decisions.Affirmation"} <= kinds  # fmt: skip
    html = response.content.decode()
    assert "Cited evaluations" in html and "decision_id" not in html and "decisions.SignOff #" not in html
    sign_off = decision.sign_offs.first()
    assert str(sign_off.signer.get_full_name() or sign_off.signer) in html


@pytest.mark.parametrize("name", ["evaluations:history", "risks:history", "frameworks:version-history"])
def test_every_record_kind_has_a_history_page(client, viewer, demo, name):
    from riskreg.evaluations.models import Evaluation
    from riskreg.frameworks.models import FrameworkVersion
    from riskreg.risks.models import Risk

    model = {"evaluations:history": Evaluation, "risks:history": Risk, "frameworks:version-history": FrameworkVersion}
    record = model[name].objects.first()
    client.force_login(viewer)
    response = client.get(reverse(name, args=[record.pk]))
    assert response.status_code == 200 and response.context["events"]
    assert client.get(reverse(name, args=[10**9])).status_code == 404


def test_a_non_ascii_digit_in_before_is_ignored_not_a_500(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse("audit:list"), {"before": "²"}).status_code == 200


def test_a_page_past_the_oldest_event_says_so_and_leads_back(client, auditor):
    make.category()  # at least one event
    client.force_login(auditor)
    html = client.get(reverse("audit:list"), {"before": "1"}).content.decode()
    assert "past the oldest event" in html and 'href="?">back to the newest events' in html
    assert "past the oldest event" not in client.get(reverse("audit:list"), {"user": "nobody-at-all"}).content.decode()


def _verdicts(events) -> list[tuple[str, str, str]]:
    return [(event.label, old, new) for event in events for label, old, new in event.words if label == "Verdict"]


def test_a_verdict_reads_in_its_thresholds_words_on_the_trail(client, auditor, demo, django_assert_max_num_queries):
    """Issue 28: RSP v3.0's TM1 is "Applicable", never "Crossed" — when the determination is made, and when its
    verdict changes later without its threshold (the threshold is then read from the event's history row)."""
    from django.db import transaction

    from riskreg.decisions.models import Determination

    client.force_login(auditor)
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    tm1 = Determination.objects.select_related("threshold").get(decision=draft, threshold__code="TM1")
    assert tm1.verdict == "crossed" and tm1.verdict_label == "Applicable"
    history = _verdicts(client.get(reverse("decisions:history", args=[draft.pk])).context["events"])
    assert any(new == "Applicable" for _, _, new in history), history
    assert not any("Crossed" in (old + new) for _, old, new in history), history
    with transaction.atomic():
        tm1.verdict = "not_crossed"
        tm1._change_reason = "Re-assessed"
        tm1.save()
    with django_assert_max_num_queries(20):
        trail = client.get(reverse("audit:list"), {"model": "decisions.Determination", "object_id": tm1.pk})
    assert _verdicts(trail.context["events"])[0][1:] == ("Applicable", "Not applicable")
    assert "Crossed" not in trail.content.decode().split("<tbody>")[1]
