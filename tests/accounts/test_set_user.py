"""manage.py set_user: real users with roles and titles, without the admin (issue 17)."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

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
