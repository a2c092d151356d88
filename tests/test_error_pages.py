"""Errors are pages in the app's layout that say why and where to go, never a bare status line."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

import factories as make
from riskreg.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_403_says_which_permission_is_missing_and_whose_roles(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("importers:upload"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "You may not open this page" in page and "can import evaluation-harness logs" in page
    assert "t-viewer" in page and "<em>viewer</em>" in page and 'class="site-header"' in page


@pytest.mark.parametrize("referer", ["https://elsewhere.example/phish", "javascript:alert(1)", "//elsewhere.example/"])
def test_a_403_never_links_back_to_another_site(client, viewer, referer):
    client.force_login(viewer)
    response = client.get(reverse("importers:upload"), headers={"referer": referer})
    page = response.content.decode()
    assert response.status_code == 403 and "You may not open this page" in page
    assert "back to the page you came from" not in page
    assert "elsewhere.example" not in page and "javascript:" not in page


def test_a_403_links_back_to_the_page_of_this_site_the_user_came_from(client, viewer):
    client.force_login(viewer)
    came_from = "http://testserver" + reverse("risks:list")
    response = client.get(reverse("importers:upload"), headers={"referer": came_from})
    assert response.status_code == 403
    assert f'<a href="{came_from}">back to the page you came from</a>' in response.content.decode()


def test_a_refused_csrf_token_is_a_page_in_the_layout_and_changes_nothing(evaluator):
    """A form sent without its token (expired, or from another page) gets the app's page, not Django's."""
    from riskreg.risks.models import Risk

    with transaction.atomic():  # tracked: written only inside a transaction
        risk = Risk.objects.create(code="R-1", title="t", description="d", owner="team", inherent_likelihood=1,
                                   inherent_impact=1, residual_likelihood=1, residual_impact=1)  # fmt: skip
    client = Client(enforce_csrf_checks=True)
    client.force_login(evaluator)
    came_from = "http://testserver" + risk.get_absolute_url()
    response = client.post(reverse("risks:review", args=[risk.pk]), {"note": "x"}, headers={"referer": came_from})
    page = response.content.decode()
    assert response.status_code == 403 and 'class="site-header"' in page
    assert "This form was not accepted" in page and "reload the page, and send it again" in page
    assert f'<a href="{came_from}">Back to the page with the form</a>' in page
    risk.refresh_from_db()
    assert risk.last_reviewed_at is None


def test_a_404_is_a_page_with_the_way_back(client, viewer):
    client.force_login(viewer)
    response = client.get("/decisions/999999/")
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode() and "/decisions/999999/" in response.content.decode()


def test_reloading_a_form_address_is_a_page_not_a_blank_405(client, viewer):
    token, _ = ApiToken.issue(viewer, "x")
    client.force_login(viewer)
    url = reverse("accounts:token-revoke", args=[token.pk])
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"]
    assert "This address takes a form, not a visit" in page and "nothing was changed" in page
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_api_keeps_its_own_405(client):
    response = client.get(reverse("importers:api-imports"))
    assert response.status_code == 405 and b"takes a form" not in response.content


def test_a_user_without_a_role_is_told_so(client):
    nobody = make.user("no-role-user")
    client.force_login(nobody)
    response = client.get(reverse("importers:upload"))
    assert response.status_code == 403 and "with no role yet" in response.content.decode()
