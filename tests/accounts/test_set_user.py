"""manage.py set_user: real users with roles and titles, without the admin (issue 17)."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from riskreg.audit.chain import verify_database
from riskreg.audit.models import AuditEvent
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("set_user", *args, stdout=out)
    return out.getvalue()


def test_a_user_is_created_with_role_title_and_mail_in_the_trail():
    ceo = GovernanceTitle.objects.create(name="CEO")
    events = AuditEvent.objects.count()
    out = run("carl", "--role", "approver", "--title", "CEO", "--email", "carl@lab.example", "--first-name", "Carl")
    carl = get_user_model().objects.get(username="carl")
    assert "Created carl: roles approver; titles CEO; mail carl@lab.example." in out
    assert "changepassword carl" in out and not carl.has_usable_password()
    assert carl.has_perm("decisions.sign_releasedecision") and ceo.holders.filter(pk=carl.pk).exists()
    assert carl.history.first().history_change_reason == "set by manage.py set_user"
    assert AuditEvent.objects.count() > events and verify_database().ok


def test_a_title_given_up_and_roles_replaced():
    ceo = GovernanceTitle.objects.create(name="CEO")
    run("carl", "--role", "approver", "--title", "CEO")
    out = run("carl", "--role", "viewer", "--only-roles", "--remove-title", "CEO", "--deactivate")
    carl = get_user_model().objects.get(username="carl")
    assert list(carl.groups.values_list("name", flat=True)) == ["viewer"]
    assert not ceo.holders.filter(pk=carl.pk).exists() and not carl.is_active and "inactive" in out


@pytest.mark.parametrize("args", [
    ["dora", "--title", "Chief Nobody"],
    ["dora", "--email", "not-an-address"],
    ["", "--role", "viewer"],
])  # fmt: skip
def test_bad_input_is_refused_with_a_message_and_changes_nothing(args):
    GovernanceTitle.objects.create(name="CEO")
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert str(refused.value)
    assert not get_user_model().objects.filter(username="dora").exists()
    assert AuditEvent.objects.count() == events


def test_an_unknown_role_is_refused_by_name():
    with pytest.raises(CommandError, match="invalid choice"):
        run("dora", "--role", "king")


LOOK_ALIKES = [
    ("ｖｉｅｗｅｒ", "look-alike"),  # full-width: NFKC reads it as viewer
    ("Viewer", "too like the existing user “viewer”"),
    ("VIEWER", "too like the existing user “viewer”"),
    ("STRAßE", "too like the existing user “strasse”"),  # case folding: ß is ss
    ("ﬁona", "look-alike"),  # the ligature ﬁ is fi
    ("vie\x07wer", "control or invisible character (U+0007)"),
    ("rosa\x1b[2J", "U+001B"),
    ("ro\u200bsa", "U+200B"),  # zero-width space
    ("\u202eviewer", "U+202E"),  # right-to-left override
]


@pytest.mark.parametrize("name, message", LOOK_ALIKES)
def test_a_control_character_or_a_look_alike_of_a_user_is_refused(name, message):
    """Issue 27: set_user made "ｖｉｅｗｅｒ" beside viewer (never able to log in, and passing for it in
    every list), names with control characters, and names that differ from a user's only by case."""
    for existing in ("viewer", "strasse"):
        run(existing, "--role", "viewer")
    users, events = get_user_model().objects.count(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match=re.escape(message)):
        run(name, "--role", "approver")
    assert get_user_model().objects.count() == users and AuditEvent.objects.count() == events


def test_an_existing_user_is_still_changed_and_a_distinct_name_made():
    run("viewer", "--role", "viewer")
    run("viewer", "--email", "v@lab.example")
    assert "Created rosa.smith" in run("rosa.smith", "--role", "viewer")


@pytest.mark.parametrize("name", ["Viewer", "STRAßE", "vie\x07wer"])
def test_the_admin_refuses_the_same_names_when_making_or_renaming_a_user(client, superuser, name):
    for existing in ("viewer", "strasse"):
        run(existing, "--role", "viewer")
    client.force_login(superuser)
    users, events = get_user_model().objects.count(), AuditEvent.objects.count()
    made = client.post(reverse("admin:auth_user_add"), {
        "username": name, "password1": "a long passphrase 1", "password2": "a long passphrase 1",
        "usable_password": "true",
    })  # fmt: skip
    assert made.status_code == 200 and made.context["adminform"].form.errors["username"]
    assert get_user_model().objects.count() == users and AuditEvent.objects.count() == events
    with transaction.atomic():
        carl = get_user_model().objects.create_user("carl")
    events = AuditEvent.objects.count()
    renamed = client.post(reverse("admin:auth_user_change", args=[carl.pk]), {
        "username": name, "first_name": "", "last_name": "", "email": "", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })  # fmt: skip
    assert renamed.status_code == 200
    errors = " ".join(renamed.context["adminform"].form.errors["username"])
    assert "too like the existing user" in errors or "U+0007" in errors, errors
    carl.refresh_from_db()
    assert carl.username == "carl" and AuditEvent.objects.count() == events


def test_createsuperuser_refuses_a_look_alike():
    run("viewer", "--role", "viewer")
    with pytest.raises(CommandError, match="too like the existing user “viewer”"):
        call_command("createsuperuser", "--noinput", "--username", "Viewer", "--email", "r@example.com",
                     stdout=io.StringIO())  # fmt: skip
    assert not get_user_model().objects.filter(username="Viewer").exists()
