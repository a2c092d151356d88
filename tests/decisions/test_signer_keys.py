"""Sign-offs carry their signer's own signature (issue 27, finding 7).

The red team, holding only the app's database role, wrote sign-offs "by" both approvers through the app's
own code (`lifecycle.sign` in a shell): they passed `verify_audit` and `manage.py gate`. Now a sign-off
counts only with a signature by a key that the signer's password opens, typed on the confirmation page;
on PostgreSQL these tests run as the app's role.
"""

import io
import json
from datetime import timedelta
from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import factories as make
from riskreg.accounts import signer_keys
from riskreg.accounts.models import LoginFailure, SignerKey
from riskreg.audit.models import AuditEvent
from riskreg.decisions import lifecycle
from riskreg.decisions.gate import gate
from riskreg.decisions.models import DecisionError, DecisionStatus, SignOff
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signatures_required(settings):
    settings.SIGN_OFFS_NEED_SIGNATURE = True  # as in production


@pytest.fixture
def in_review():
    ceo, rso = GovernanceTitle.objects.create(name="CEO"), GovernanceTitle.objects.create(name="RSO")
    version = make.framework_version()
    version.required_titles.set([ceo, rso])
    decision = make.decision(version=version, author=make.user("writer"))
    determination = make.determination(decision, reasoning="r")
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category))
    lifecycle.submit(decision, by=decision.author)
    signers = {}
    for title, name in ((ceo, "carl"), (rso, "rosa")):
        signers[title] = make.user(name)  # password "pw"
        signers[title].groups.add(Group.objects.get(name="approver"))
        title.holders.add(signers[title])
    return decision, signers


def test_setting_a_password_enrols_a_key_it_opens():
    user = make.user("ann")  # create_user stores a hash without set_password: no key until the first signing
    assert signer_keys.current(user) is None
    first = signer_keys.unlock(user, "pw").key
    assert signer_keys.current(user) == first and signer_keys.unlock(user, "pw").key == first
    with transaction.atomic():
        user.set_password("a new long passphrase")
        user.save()
    second = signer_keys.current(user)
    assert second != first and signer_keys.unlock(user, "a new long passphrase").key == second
    with pytest.raises(signer_keys.WrongPassword):
        signer_keys.unlock(user, "pw")
    assert second.history.count() == 1  # the enrolment is in the trail


def test_signing_on_the_page_signs_with_the_signers_key(client, in_review):
    decision, signers = in_review
    for title, signer in signers.items():
        client.force_login(signer)
        response = make.post_confirmed(client, reverse("decisions:sign", args=[decision.pk]),
                                       make.signing(decision, title))  # fmt: skip
        assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED
    for sign_off in decision.sign_offs.select_related("signer_key"):
        assert sign_off.is_signed_by_signer and sign_off.signer_key.user_id == sign_off.signer_id
    assert gate(decision).release_allowed
    call_command("verify_audit", stdout=io.StringIO())  # no problem named


def test_a_wrong_password_signs_nothing_and_counts_as_a_failed_log_in(client, in_review):
    decision, signers = in_review
    title, signer = next(iter(signers.items()))
    client.force_login(signer)
    response = make.post_confirmed(client, reverse("decisions:sign", args=[decision.pk]),
                                   make.signing(decision, title), password="not my password")  # fmt: skip
    assert response.status_code == 400 and "That is not your password" in response.content.decode()
    assert not decision.sign_offs.exists()
    assert LoginFailure.objects.filter(username=signer.username).count() == 1


def test_approvals_forged_through_the_apps_own_code_do_not_pass(in_review):
    """The red team's path: both sign-offs written through lifecycle.sign, with no password."""
    decision, signers = in_review
    for title, signer in signers.items():
        lifecycle.sign(decision, by=signer, title=title, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW  # the gate did not count them
    report = gate(decision)
    assert not report.release_allowed
    assert next(c for c in report.checks if c.code == "signatures").status == "warn"
    with pytest.raises(SystemExit) as exit_code:
        call_command("gate", str(decision.pk), stdout=io.StringIO())
    assert exit_code.value.code == 1
    errors = io.StringIO()
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_audit", stdout=io.StringIO(), stderr=errors)
    assert errors.getvalue().count("no valid signature by the signer's own key") == 2


def test_a_key_of_someone_else_or_a_tampered_signature_does_not_count(in_review):
    decision, signers = in_review
    (ceo, carl), (rso, rosa) = signers.items()
    with pytest.raises(DecisionError, match="own key"):
        lifecycle.sign(decision, by=carl, title=ceo, verdict="approve", key=signer_keys.unlock(rosa, "pw"))
    sign_off = lifecycle.sign(decision, by=carl, title=ceo, verdict="approve", key=signer_keys.unlock(carl, "pw"))
    assert sign_off.is_signed_by_signer
    sign_off.comment = "a comment the signer never wrote"  # what the signature covers, changed in memory
    assert not sign_off.is_signed_by_signer


def test_a_key_planted_for_a_signer_is_named_for_the_auditor_whatever_its_stored_date(in_review):
    """The one way left to sign in someone's name: enrol a key for them, here before the decision goes to
    review and with its stored date set back a year. The trail's own order names it all the same."""
    decision, signers = in_review
    keys = {}
    for title, signer in signers.items():  # the rows as an attacker writes them, dated a year back
        private = Ed25519PrivateKey.generate()
        planted = SignerKey(user=signer, public_key=signer_keys._public_b64(private), wrapped="", salt="00" * 16,
                            iterations=1, enrolled_at=timezone.now() - timedelta(days=365))  # fmt: skip
        planted._history_user = signer
        with transaction.atomic():
            planted.save()
        keys[title] = signer_keys.Unlocked(planted, private)
    for title, signer in signers.items():
        lifecycle.sign(decision, by=signer, title=title, verdict="approve", key=keys[title])
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED  # prevented only by a key off the server (passkeys)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().count("enrolled after the decision was written") == 2, out.getvalue()
    assert "2 note(s) above need a person's look" in out.getvalue()


def test_the_trail_holds_nothing_that_tests_a_guessed_password():
    """The wrapped key, its salt and iterations would let any reader of the trail test guessed passwords, as
    a password hash would: they are in no history row, event or export."""
    user = make.user("dan")
    key = signer_keys.unlock(user, "pw").key
    history = key.history.get()
    assert not {"wrapped", "salt", "iterations"} & {f.name for f in type(history)._meta.fields}
    event = AuditEvent.objects.get(model="accounts.SignerKey", object_id=str(key.pk))
    assert set(event.changes) == {"id", "user_id", "public_key", "enrolled_at"}, event.changes
    assert key.salt not in json.dumps(event.as_document()) and key.wrapped not in json.dumps(event.as_document())


def test_a_signature_made_in_another_deployment_does_not_verify(settings, in_review):
    """A staging copy where the real approvers sign: its signatures name its own origin."""
    decision, signers = in_review
    (ceo, carl), _ = signers.items()
    settings.AUDIT_ORIGIN = "staging.example.org/audit"
    sign_off = lifecycle.sign(decision, by=carl, title=ceo, verdict="approve", key=signer_keys.unlock(carl, "pw"))
    assert sign_off.is_signed_by_signer
    settings.AUDIT_ORIGIN = "riskreg.example.org/audit"
    assert not SignOff.objects.select_related("signer_key").get(pk=sign_off.pk).is_signed_by_signer


def test_sign_offs_written_up_to_the_upgrades_event_still_count(settings, in_review):
    decision, signers = in_review
    settings.SIGNATURES_REQUIRED_AFTER_EVENT = 10**9  # every event so far, and these, come before it
    for title, signer in signers.items():
        lifecycle.sign(decision, by=signer, title=title, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "written before keys were required" in out.getvalue()


def test_a_sign_off_written_after_the_upgrade_does_not_count_whatever_its_clock(settings, in_review):
    """The cut is an event number, given under the chain's lock: a sign-off written with the clock set back
    is still after it."""
    decision, signers = in_review
    settings.SIGNATURES_REQUIRED_AFTER_EVENT = AuditEvent.objects.order_by("-seq").first().seq
    earlier = timezone.now() - timedelta(days=365)
    with mock.patch("django.utils.timezone.now", return_value=earlier):
        for title, signer in signers.items():
            lifecycle.sign(decision, by=signer, title=title, verdict="approve")
    assert decision.sign_offs.filter(signed_at__lt=timezone.now() - timedelta(days=300)).count() == 2
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW
    assert not gate(decision).release_allowed


def test_a_password_an_admin_sets_enrols_a_key_the_trail_says_the_admin_made(admin_client):
    """Who enrolled a key is who set the password: an admin's reset is the admin's act, for the auditor."""
    user = make.user("bea")
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = admin_client.post(url, {"password1": "a long new passphrase", "password2": "a long new passphrase",
                                       "usable_password": "true"})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    key = signer_keys.current(user)
    assert key is not None and signer_keys.unlock(user, "a long new passphrase").key == key
    assert key.history.get().history_user.username == "admin"
