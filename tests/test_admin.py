"""Every domain model is in the admin, with its history view."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from riskreg.demo.loader import SEED_USERNAME
from test_demo_data import tracked_models

pytestmark = pytest.mark.django_db


def test_every_domain_model_is_registered_with_history():
    from simple_history.admin import SimpleHistoryAdmin

    for model in tracked_models():
        assert model in admin.site._registry, model
        assert isinstance(admin.site._registry[model], SimpleHistoryAdmin), model


def test_every_model_keeps_history():
    for model in tracked_models():
        assert hasattr(model, "history"), model


def test_the_admin_lists_and_shows_history_for_every_model(client, superuser, demo):
    client.force_login(superuser)
    for model in tracked_models():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        obj = model.objects.first()
        if model is get_user_model():  # the demo loader's account; the fixtures' users have no reason
            obj = model.objects.get(username=SEED_USERNAME)
        if obj is None:  # the demo makes no API tokens
            continue
        history = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
        response = client.get(history)
        assert response.status_code == 200, history
        first = obj.history.earliest()
        # The demo loader's own account is written by no one; its row names the command instead.
        author = first.history_user.username if first.history_user else first.history_change_reason
        assert author in response.content.decode(), history


def test_the_admin_offers_no_edit_of_an_approved_decision(client, superuser, demo):
    from riskreg.decisions.models import ReleaseDecision

    client.force_login(superuser)
    decision = ReleaseDecision.objects.get(reference="D8")
    url = reverse("admin:decisions_releasedecision_change", args=[decision.pk])
    response = client.post(url, {"title": "Changed"})
    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.title == "Limited access for Project Glasswing partners"


def test_the_admin_offers_no_bulk_delete_of_decisions(client, superuser):
    import factories as make
    from riskreg.decisions.models import ReleaseDecision

    client.force_login(superuser)
    # approved, and with nothing protecting it from a queryset delete
    decision = make.decision(status="approved")
    url = reverse("admin:decisions_releasedecision_changelist")
    response = client.post(url, {"action": "delete_selected", "_selected_action": [decision.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert ReleaseDecision.objects.filter(pk=decision.pk).exists()
    assert "delete_selected" not in client.get(url).content.decode()
