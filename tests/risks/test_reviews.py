"""Risk reviews (issue 16): an interval, a recorded review (who, when, in the history), overdue shown."""

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def _risk(**fields):
    values = {"code": "R-9", "title": "Weights exfiltration", "description": "d", "owner": "team",
              "inherent_likelihood": 3, "inherent_impact": 4, "residual_likelihood": 2,
              "residual_impact": 4}  # fmt: skip
    with transaction.atomic():
        return Risk.objects.create(**{**values, **fields})


def test_recording_a_review_keeps_who_and_when_and_moves_the_next_one(client, evaluator):
    today = timezone.localdate()
    risk = _risk(next_review=today - datetime.timedelta(days=3), review_interval_days=90)
    client.force_login(evaluator)
    response = client.post(reverse("risks:review", args=[risk.pk]), {"note": "Controls re-tested"}, follow=True)
    risk.refresh_from_db()
    assert risk.last_reviewed_by == evaluator and risk.next_review == today + datetime.timedelta(days=90)
    latest = risk.history.latest()
    assert latest.history_user == evaluator and latest.history_change_reason == "reviewed: Controls re-tested"
    assert "Review of R-9 recorded" in response.content.decode()


def test_a_viewer_cannot_record_a_review(client, viewer):
    risk = _risk()
    client.force_login(viewer)
    assert client.post(reverse("risks:review", args=[risk.pk])).status_code == 403
    risk.refresh_from_db()
    assert risk.last_reviewed_at is None


def test_overdue_reviews_stand_out_on_the_list_and_the_page(client, viewer):
    risk = _risk(next_review=timezone.localdate() - datetime.timedelta(days=1))
    _risk(code="R-10", next_review=timezone.localdate() + datetime.timedelta(days=5))
    client.force_login(viewer)
    page = client.get(reverse("risks:list")).content.decode()
    assert page.count('class="overdue"') == 1 and "— overdue" in page
    assert "overdue" in client.get(risk.get_absolute_url()).content.decode()
