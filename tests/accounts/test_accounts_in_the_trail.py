"""Issue 14, attack 6: accounts are tracked like every record, and their secrets never enter the trail.

Making an account superuser and approver through the admin used to leave the audit head where it
was; now each change is a history row with the acting user and an audit event.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

import factories as make
from riskreg.accounts.models import ApiToken
from riskreg.accounts.roles import APPROVER
from riskreg.audit.chain import verify_database
from riskreg.audit.models import AuditEvent, AuditHead

pytestmark = pytest.mark.django_db

User = get_user_model()


def events_for(user):
    return AuditEvent.objects.filter(model="auth.User", object_id=str(user.pk)).order_by("seq")


def make_superuser_and_approver(client, admin, user):
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {
            "username": user.username, "first_name": "Mallory", "last_name": "", "email": "m@example.com",
            "is_active": "on", "is_staff": "on", "is_superuser": "on",
            "groups": [Group.objects.get(name=APPROVER).pk],
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]


def test_it_records_an_account_made_superuser_and_approver_in_the_admin(client, superuser, viewer):
    head_before = AuditHead.objects.get().seq

    make_superuser_and_approver(client, superuser, viewer)

    assert AuditHead.objects.get().seq > head_before
    viewer.refresh_from_db()
    assert viewer.is_superuser and viewer.groups.filter(name=APPROVER).exists()
    newest = viewer.history.first()
    assert newest.history_user == superuser
    assert (newest.is_superuser, newest.is_staff, newest.first_name) == (True, True, "Mallory")
    assert list(newest.groups.values_list("group__name", flat=True)) == [APPROVER]
    changed = {name for event in events_for(viewer).filter(seq__gt=head_before) for name in event.changes}
    assert {"is_superuser", "is_staff", "first_name", "email", "groups"} <= changed
    assert {event.username for event in events_for(viewer).filter(seq__gt=head_before)} == {superuser.username}
    assert verify_database().ok


def test_no_password_hash_reaches_history_events_pages_or_exports(client, superuser, auditor, viewer):
    make_superuser_and_approver(client, superuser, viewer)
    hashes = [user.password for user in User.objects.all()]
    assert hashes and all(hashes)

    assert not any(hasattr(row, "password") or hasattr(row, "last_login") for row in User.history.all())
    client.force_login(auditor)
    texts = [str(list(AuditEvent.objects.values()))]
    texts.append(client.get(reverse("audit:list"), {"model": "auth.User"}).content.decode())
    for fmt in ("csv", "jsonl"):
        texts.append(b"".join(client.get(reverse("audit:export", args=[fmt])).streaming_content).decode())
    out = io.StringIO()
    call_command("export_audit", "--format", "jsonl", stdout=out)
    texts.append(out.getvalue())
    for text in texts:
        assert "auth.User" in text
        assert "pbkdf2" not in text and "md5$" not in text
        assert not any(password in text for password in hashes)


def test_a_log_in_is_no_change_of_the_account(client, viewer):
    before = AuditEvent.objects.count()
    client.force_login(viewer)
    viewer.refresh_from_db()
    assert viewer.last_login is not None
    assert AuditEvent.objects.count() == before


def test_a_password_change_is_an_event_without_the_hash(viewer):
    viewer.set_password("a new long passphrase")
    with transaction.atomic():
        viewer.save()
    event = events_for(viewer).last()
    assert event.action == "~" and "password" not in event.changes


def test_createsuperuser_and_changepassword_write_history(monkeypatch):
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "r@example.com",
                 stdout=io.StringIO())  # fmt: skip
    root = User.objects.get(username="root")
    assert [event.action for event in events_for(root)] == ["+"]
    assert events_for(root).get().changes["is_superuser"] == {"old": None, "new": True}

    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a long new passphrase 1")
    call_command("changepassword", "root", stdout=io.StringIO())
    assert [event.action for event in events_for(root)] == ["+", "~"]
    assert verify_database().ok


def test_token_creation_and_revocation_on_the_settings_page_are_events(client, viewer):
    client.force_login(viewer)
    before = AuditEvent.objects.filter(model="accounts.ApiToken").count()
    client.post(reverse("accounts:settings"), {"name": "pipeline"})
    token = ApiToken.objects.get(user=viewer, name="pipeline")
    make.post_confirmed(client, reverse("accounts:token-revoke", args=[token.pk]))
    events = AuditEvent.objects.filter(model="accounts.ApiToken", object_id=str(token.pk)).order_by("seq")
    assert AuditEvent.objects.filter(model="accounts.ApiToken").count() == before + 2
    assert [event.action for event in events] == ["+", "~"]
    assert {event.username for event in events} == {viewer.username}
    assert all("key_hash" not in event.changes and "prefix" not in event.changes for event in events)


def gate_api(client, raw):
    return client.get(reverse("decisions:api-gate", args=[999999]), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


@pytest.mark.parametrize("how", ["admin", "set_user", "save"])
def test_deactivating_a_user_revokes_their_tokens_for_good_in_the_trail(client, superuser, viewer, how):
    """Issue 27: a deactivated user's token was only ignored while they were inactive: reactivated, it
    worked again. Deactivating revokes it, recorded as a change of the token by whoever deactivated."""
    token, raw = ApiToken.issue(viewer, "release pipeline")
    assert gate_api(client, raw) == 404  # accepted: no such decision
    if how == "admin":
        client.force_login(superuser)
        response = client.post(reverse("admin:auth_user_change", args=[viewer.pk]), {
            "username": viewer.username, "first_name": "", "last_name": "", "email": "",
            "groups": list(viewer.groups.values_list("pk", flat=True)),
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        })  # fmt: skip  # is_active left out: unticked
        assert response.status_code == 302, response.content[:2000]
        client.logout()
    elif how == "set_user":
        call_command("set_user", viewer.username, "--deactivate", stdout=io.StringIO())
    else:
        viewer.is_active = False
        viewer._history_user = superuser
        with transaction.atomic():
            viewer.save()
    viewer.refresh_from_db()
    assert not viewer.is_active
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.filter(model="accounts.ApiToken", object_id=str(token.pk)).order_by("seq").last()
    assert event.action == "~" and "revoked_at" in event.changes and "deactivated" in event.reason
    assert event.username == ("" if how == "set_user" else superuser.username)

    viewer.is_active = True  # reactivated
    with transaction.atomic():
        viewer.save()
    assert gate_api(client, raw) == 401
    assert verify_database().ok


def test_tokens_of_users_deactivated_before_are_revoked_by_the_migration(client, viewer):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("riskreg.accounts.migrations.0009_revoke_tokens_of_inactive_users")
    viewer.is_active = False
    with transaction.atomic():
        viewer.save()
    token, raw = ApiToken.issue(viewer, "made while inactive, as a deactivation before issue 27 left it")
    with transaction.atomic():
        migration.revoke_tokens_of_inactive_users(apps, None)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.history.first().history_change_reason.startswith("revoked")
    viewer.is_active = True
    with transaction.atomic():
        viewer.save()
    assert gate_api(client, raw) == 401


def group_events(group):
    return AuditEvent.objects.filter(model="auth.Group", object_id=str(group.pk)).order_by("seq")


def test_a_role_given_a_permission_in_the_admin_is_in_the_trail(client, superuser, auditor):
    """Issue 27: giving the approver group (a role) a permission, or renaming a group, left no history
    row and no audit event: only django_admin_log saw it."""
    from django.contrib.auth.models import Permission

    approver = Group.objects.get(name=APPROVER)
    export = Permission.objects.get(codename="export_auditevent")
    head_before = AuditHead.objects.get().seq
    client.force_login(superuser)
    wanted = [*approver.permissions.values_list("pk", flat=True), export.pk]
    response = client.post(reverse("admin:auth_group_change", args=[approver.pk]),
                           {"name": APPROVER, "permissions": wanted})  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    assert approver.permissions.filter(pk=export.pk).exists()
    events = list(group_events(approver).filter(seq__gt=head_before))
    assert events and {event.username for event in events} == {superuser.username}
    assert any(export.pk in event.changes.get("permissions", {}).get("new", []) for event in events)
    newest = approver.history.first()
    assert newest.history_user == superuser and export.pk in newest.permissions.values_list("permission", flat=True)

    made = client.post(reverse("admin:auth_group_add"), {"name": "reviewers", "permissions": [export.pk]})
    assert made.status_code == 302
    reviewers = Group.objects.get(name="reviewers")
    renamed = client.post(reverse("admin:auth_group_change", args=[reviewers.pk]), {"name": "outside reviewers"})
    assert renamed.status_code == 302
    actions = [(event.action, sorted(event.changes)) for event in group_events(reviewers)]
    assert actions == [("+", ["id", "name"]), ("~", ["permissions"]),  # made, then given its permission
                       ("~", ["name"]), ("~", ["permissions"])], actions  # renamed; the permission left out
    assert verify_database().ok
    assert client.get(reverse("admin:auth_group_history", args=[reviewers.pk])).status_code == 200
    client.force_login(auditor)
    page = client.get(reverse("audit:list"), {"model": "auth.Group"}).content.decode()
    assert "outside reviewers" in page and export.name in page  # the trail in words: the group, the permission


def test_a_group_is_not_deleted_in_the_admin(client, superuser):
    client.force_login(superuser)
    approver = Group.objects.get(name=APPROVER)
    assert client.post(reverse("admin:auth_group_delete", args=[approver.pk]), {"post": "yes"}).status_code == 403
    assert Group.objects.filter(pk=approver.pk).exists()


def test_verify_audits_live_row_check_names_a_group_changed_around_the_history():
    from django.contrib.auth.models import Permission
    from django.db import connection

    from riskreg.audit.live import check_live_rows

    assert not [m for m in check_live_rows() if m.model == "auth.Group"]
    approver = Group.objects.get(name=APPROVER)
    export = Permission.objects.get(codename="export_auditevent")
    with connection.cursor() as cursor:  # as the app's role could, around the application
        cursor.execute("INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (%s, %s)",
                       [approver.pk, export.pk])  # fmt: skip
        cursor.execute("UPDATE auth_group SET name = %s WHERE id = %s", ["approvers", approver.pk])
    found = [str(m) for m in check_live_rows() if m.model == "auth.Group"]
    newest = approver.history.first().history_id
    assert f"auth.Group #{approver.pk}: name differs from its history row #{newest}" in found
    assert any(f"permissions has {export.pk}" in text for text in found), found


def test_a_migration_that_sets_role_permissions_records_them():
    """apply_roles, run by a migration with its history-less models, records each group it changed."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from riskreg.accounts.roles import apply_roles
    from riskreg.audit.live import check_live_rows

    viewer_group = Group.objects.get(name="viewer")
    taken = viewer_group.permissions.order_by("pk").first()
    with transaction.atomic():
        viewer_group.permissions.remove(taken)
    state_apps = MigrationLoader(connection).project_state().apps
    before = AuditEvent.objects.count()
    apply_roles(state_apps)
    assert viewer_group.permissions.filter(pk=taken.pk).exists()
    event = group_events(viewer_group).last()
    assert event.seq > before and event.changes["permissions"]["new"].count(taken.pk) == 1
    assert "migration" in event.reason
    assert not [m for m in check_live_rows() if m.model == "auth.Group"] and verify_database().ok
