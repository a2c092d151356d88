"""Errors are pages in the app's layout that say why and where to go, never a bare status line."""

import pytest
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


def test_a_404_is_a_page_with_the_way_back(client, viewer):
    client.force_login(viewer)
    response = client.get("/decisions/999999/")
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode() and "/decisions/999999/" in response.content.decode()


def test_reloading_a_form_address_is_a_page_not_a_blank_405(client, viewer):
    token, _ = ApiToken.issue(viewer, "x")
    client.force_login(viewer)
    url = reverse("token-revoke", args=[token.pk])
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"]
    assert "This address takes a form, not a visit" in page and "nothing was changed" in page
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_api_keeps_its_own_405(client):
    response = client.get(reverse("api-imports"))
    assert response.status_code == 405 and b"takes a form" not in response.content


def test_a_user_without_a_role_is_told_so(client):
    nobody = make.user("no-role-user")
    client.force_login(nobody)
    response = client.get(reverse("importers:upload"))
    assert response.status_code == 403 and "with no role yet" in response.content.decode()
