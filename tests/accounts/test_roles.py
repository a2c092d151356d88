"""The roles of DESIGN.md §1 are groups, created by a migration, with exactly their permissions."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

import factories as make
from riskreg.accounts.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def test_the_migration_creates_each_role_with_exactly_its_permissions():
    for role, expected in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == set(expected), role


def test_every_role_may_read_every_domain_model(viewer, evaluator, approver, auditor):
    for user in (viewer, evaluator, approver, auditor):
        for name in (
            "frameworks.view_coverage",
            "evaluations.view_evaluation",
            "risks.view_risk",
            "decisions.view_releasedecision",
            "decisions.view_signoff",
        ):
            assert user.has_perm(name), (user, name)


def test_only_evaluators_record_and_draft(viewer, evaluator, approver, auditor):
    for name in (
        "evaluations.add_evaluation",
        "evaluations.add_evidence",
        "evaluations.import_evaluation_logs",
        "risks.change_risk",
        "decisions.add_releasedecision",
    ):
        assert evaluator.has_perm(name)
        assert not any(user.has_perm(name) for user in (viewer, approver, auditor)), name


def test_only_approvers_sign(viewer, evaluator, approver, auditor):
    assert approver.has_perm("decisions.sign_releasedecision")
    assert not any(user.has_perm("decisions.sign_releasedecision") for user in (viewer, evaluator, auditor))


def test_nobody_but_an_admin_edits_frameworks(viewer, evaluator, approver, auditor, superuser):
    for user in (viewer, evaluator, approver, auditor):
        assert not user.has_perm("frameworks.change_frameworkversion")
        assert not user.has_perm("frameworks.add_threshold")
    assert superuser.has_perm("frameworks.change_frameworkversion")


def test_no_role_may_change_or_delete_evidence_or_sign_offs(viewer, evaluator, approver, auditor):
    for user in (viewer, evaluator, approver, auditor):
        for name in (
            "evaluations.change_evidence",
            "evaluations.delete_evidence",
            "decisions.change_signoff",
            "decisions.delete_signoff",
        ):
            assert not user.has_perm(name)


def test_a_tokens_hash_and_prefix_never_enter_history_or_the_trail(client, evaluator):
    """Issue 14, reproduction 7: auditors read the trail; a token is known there by id and name only."""
    from riskreg.accounts.models import ApiToken
    from riskreg.audit.models import AuditEvent

    client.force_login(evaluator)
    client.post(reverse("accounts:settings"), {"name": "release pipeline"})
    token = ApiToken.objects.get()
    make.post_confirmed(client, reverse("accounts:token-revoke", args=[token.pk]))
    events = list(AuditEvent.objects.filter(model="accounts.ApiToken").values())
    assert [event["action"] for event in sorted(events, key=lambda e: e["seq"])] == ["+", "~"]
    trail = str(events) + str(list(ApiToken.history.values()))
    assert token.key_hash not in trail and token.prefix not in trail
    assert "release pipeline" in trail
    assert token.prefix not in client.get(reverse("accounts:settings")).content.decode()
