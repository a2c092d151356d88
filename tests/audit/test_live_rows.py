"""Issue 14: verify_audit compares every live row with its newest history row.

A raw write to a live table leaves the chain and the history intact; only the live row differs
from what history says it is. Each test makes one such write as the app would connect (the app
role on PostgreSQL, which may still UPDATE and DELETE live rows that no trigger protects) and
expects verify_audit to name the record and exit 1.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

import factories as make
from riskreg.audit.live import check_live_rows
from riskreg.evaluations.models import Evaluation, Outcome
from riskreg.frameworks.models import GovernanceTitle
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def verify_audit() -> str:
    """verify_audit's complaints; fails the test if it says OK."""
    err = StringIO()
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_audit", stdout=StringIO(), stderr=err)
    return err.getvalue()


def raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_it_says_ok_for_the_demo(demo):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "OK:" in out.getvalue()
    assert check_live_rows() == []


def test_it_names_a_field_updated_around_history(demo):
    # An evaluation no decision cites: no trigger guards it, so the app role can UPDATE it.
    evaluation = Evaluation.objects.filter(determinations__isnull=True).exclude(outcome=Outcome.BELOW_THRESHOLD).first()
    raw("UPDATE evaluations_evaluation SET outcome = %s WHERE id = %s", [Outcome.BELOW_THRESHOLD, evaluation.pk])

    assert f"evaluations.Evaluation #{evaluation.pk}: outcome differs from its history row" in verify_audit()


def test_it_names_a_row_deleted_around_history(db):
    risk = _risk()
    raw("DELETE FROM risks_risk WHERE id = %s", [risk.pk])

    assert f"risks.Risk #{risk.pk}: deleted with no history row" in verify_audit()


def test_it_names_a_row_that_exists_though_its_history_says_deleted(db):
    risk = _risk()
    # A deletion written into history only: the app role may INSERT history rows.
    forged = risk.history.first()
    forged.history_id, forged.history_type = None, "-"
    with transaction.atomic():
        forged.save()

    assert f"risks.Risk #{risk.pk}: live row exists, but its history row #{forged.history_id} says deleted" in (
        verify_audit()
    )


def test_it_names_a_live_row_with_no_history(db):
    raw("INSERT INTO frameworks_governancetitle (name, description) VALUES ('Shadow officer', '')")
    title = GovernanceTitle.objects.get(name="Shadow officer")

    assert f"frameworks.GovernanceTitle #{title.pk}: live row with no history row" in verify_audit()


def test_it_names_a_title_holder_added_around_history(db):
    title = _title()
    user = make.user("mallory")
    raw("INSERT INTO frameworks_governancetitle_holders (governancetitle_id, user_id) VALUES (%s, %s)",
        [title.pk, user.pk])  # fmt: skip

    assert f"frameworks.GovernanceTitle #{title.pk}: holders has {user.pk}, not in its newest history row" in (
        verify_audit()
    )


def _title():
    with transaction.atomic():
        return GovernanceTitle.objects.create(name="Responsible Scaling Officer")


def _risk():
    with transaction.atomic():
        return Risk.objects.create(
            code="R-1", title="A risk", description="d", owner="team",
            inherent_likelihood=3, inherent_impact=4, residual_likelihood=2, residual_impact=4,
        )  # fmt: skip
