"""The admin is a window, not a back door (issue 12): what it shows, it never writes around the models.

Each test forges the request an attacker with a superuser login would send, then checks the database.
"""

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.forms.models import model_to_dict
from django.urls import reverse

import factories as make
from conftest import postgres_only
from riskreg.accounts.models import ApiToken
from riskreg.decisions.models import GapAcknowledgement
from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.frameworks.models import Coverage
from riskreg.lib.admin import RegistryAdmin, guards_its_delete

pytestmark = pytest.mark.django_db


def admin_url(obj, view, *args):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[*args])


def post_data(obj):
    """The record's fields as a form would post them (foreign keys and many-to-many as ids)."""
    data = {}
    for name, value in model_to_dict(obj).items():
        if value is None:
            continue
        if isinstance(value, list):
            value = [getattr(item, "pk", item) for item in value]
        data[name] = value
    return data


def revert(client, obj, version, **changes):
    """POST simple-history's history form view for `version` of `obj`: its "Revert" button."""
    url = admin_url(obj, "simple_history", obj.pk, version.history_id)
    return client.post(url, {**post_data(version.instance), **changes})


# 1. History revert -------------------------------------------------------------------------------


def test_every_admin_is_a_registry_admin():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label.startswith(("auth", "django")):
            continue
        assert isinstance(model_admin, RegistryAdmin), model


def test_no_admin_restores_a_past_version_of_any_model(rf, superuser):
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, RegistryAdmin):
            continue
        request = rf.post("/admin/", {})
        request.user = superuser
        with pytest.raises(PermissionDenied):
            model_admin.history_form_view(request, "1", "1")
        assert model_admin.revert_disabled(request), model


def test_reverting_does_not_reactivate_a_revoked_api_token(client, superuser):
    owner = make.user("token-owner")
    token, _ = ApiToken.issue(owner, "release pipeline")
    token.revoke(by=owner)
    active_version = token.history.earliest()
    assert active_version.revoked_at is None

    client.force_login(superuser)
    response = revert(client, token, active_version)

    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.history.count() == 2


def test_reverting_does_not_move_a_gap_acknowledgement_off_an_approved_decision(client, superuser):
    approved = make.decision()
    gap = GapAcknowledgement.objects.create(
        decision=approved, category=make.category(), rationale="Not covered.", acknowledged_by=approved.author
    )
    make.approve(approved)
    draft = make.decision()
    version = gap.history.earliest()

    client.force_login(superuser)
    response = revert(client, gap, version, decision=draft.pk, rationale="Moved.")

    assert response.status_code == 403
    gap.refresh_from_db()
    assert (gap.decision_id, gap.rationale) == (approved.pk, "Not covered.")
    assert gap.history.count() == 1


def test_reverting_does_not_change_a_determination_of_an_approved_decision(client, superuser):
    decision, category = make.decision(), make.category()
    evaluation = make.evaluation(snap=decision.snapshot, cat=category)
    determination = make.determination(decision, cat=category, verdict="not_crossed")
    determination.cited_evaluations.add(evaluation)
    make.approve(decision)
    version = determination.history.earliest()

    client.force_login(superuser)
    response = revert(client, determination, version, verdict="crossed", cited_evaluations=[])

    assert response.status_code == 403
    determination.refresh_from_db()
    assert determination.verdict == "not_crossed"
    assert list(determination.cited_evaluations.all()) == [evaluation]


def test_the_history_form_view_still_shows_a_past_version(client, superuser):
    owner = make.user("token-owner")
    token, _ = ApiToken.issue(owner, "release pipeline")
    token.revoke(by=owner)
    client.force_login(superuser)

    response = client.get(admin_url(token, "simple_history", token.pk, token.history.earliest().history_id))

    assert response.status_code == 200
    assert "Revert" not in response.content.decode()


# 2. Bulk delete ----------------------------------------------------------------------------------


def test_no_admin_offers_bulk_delete_of_a_model_that_guards_its_delete(rf, superuser):
    request = rf.get("/admin/")
    request.user = superuser
    guarded = [model for model in admin.site._registry if guards_its_delete(model)]
    assert Coverage in guarded and Evidence in guarded
    for model in guarded:
        assert "delete_selected" not in admin.site._registry[model].get_actions(request), model


def test_a_forged_bulk_delete_leaves_a_frozen_versions_coverage(client, superuser):
    version, category = make.framework_version(), make.category()
    coverage = Coverage.objects.create(framework_version=version, category=category, level="formal")
    decision = make.decision(version=version)
    determination = make.determination(decision, cat=category)
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=category))
    make.approve(decision)
    assert version.is_frozen
    client.force_login(superuser)
    changelist = reverse("admin:frameworks_coverage_changelist")

    response = client.post(changelist, {"action": "delete_selected", "_selected_action": [coverage.pk], "post": "yes"})

    assert response.status_code in (200, 302)
    assert Coverage.objects.filter(pk=coverage.pk).exists()
    assert "delete_selected" not in client.get(changelist).content.decode()


# 3. Evidence -------------------------------------------------------------------------------------


def test_the_admin_adds_no_evidence_around_the_upload_checks(client, superuser):
    evaluation = make.evaluation()
    somebody = make.user("somebody")
    client.force_login(superuser)
    page = SimpleUploadedFile("report.html", b"<script>alert(1)</script>", content_type="text/html")

    response = client.post(reverse("admin:evaluations_evidence_add"), {
        "evaluation": evaluation.pk, "kind": "file", "title": "Report", "file": page,
        "original_name": "report.html", "content_type": "text/html", "size": 26, "sha256": "0" * 64,
        "added_by": somebody.pk,
    })  # fmt: skip

    assert response.status_code == 403
    assert not Evidence.objects.exists()
    changelist = client.get(reverse("admin:evaluations_evidence_changelist")).content.decode()
    assert reverse("admin:evaluations_evidence_add") not in changelist


# 4. Cited evaluations and evidence stay ----------------------------------------------------------


@pytest.fixture
def cited():
    """Two evaluations cited by an approved decision: one bare, one with a note as its evidence."""
    decision, category = make.decision(), make.category()
    bare = make.evaluation(snap=decision.snapshot, cat=category)
    documented = make.evaluation(snap=decision.snapshot, cat=category)
    note = Evidence.objects.create(
        evaluation=documented, kind="note", title="Note", note="Seen.", added_by=decision.author
    )
    make.determination(decision, cat=category).cited_evaluations.add(bare, documented)
    make.approve(decision)
    return bare, note


def test_a_cited_evaluation_is_never_deleted(cited):
    evaluation, _ = cited
    for attempt in (evaluation.delete, Evaluation.objects.filter(pk=evaluation.pk).delete):
        with pytest.raises(ValidationError, match="never deleted"), transaction.atomic():
            attempt()
    assert evaluation.determinations.count() == 1


def test_the_evidence_of_a_cited_evaluation_is_never_deleted(cited):
    _, note = cited
    for attempt in (note.delete, Evidence.objects.filter(pk=note.pk).delete):
        with pytest.raises(ValidationError, match="never deleted"), transaction.atomic():
            attempt()
    assert Evidence.objects.filter(pk=note.pk).exists()


def test_an_evaluation_cited_only_by_drafts_can_go(db):
    draft, category = make.decision(), make.category()
    evaluation = make.evaluation(snap=draft.snapshot, cat=category)
    make.determination(draft, cat=category).cited_evaluations.add(evaluation)
    evaluation.delete()
    assert not Evaluation.objects.filter(pk=evaluation.pk).exists()


@postgres_only
@pytest.mark.parametrize("table", ["evaluations_evidence", "evaluations_evaluation"])
def test_postgres_refuses_deleting_a_cited_row(cited, table):
    evaluation, note = cited
    row = note.pk if table == "evaluations_evidence" else evaluation.pk
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row])
    assert Evaluation.objects.filter(pk=evaluation.pk).exists() and Evidence.objects.filter(pk=note.pk).exists()


def test_the_admin_says_why_a_cited_evaluation_stays(client, superuser, cited):
    evaluation, _ = cited
    client.force_login(superuser)

    response = client.post(admin_url(evaluation, "delete", evaluation.pk), {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert "never deleted" in response.content.decode()
    assert Evaluation.objects.filter(pk=evaluation.pk).exists()


def test_the_admin_shows_a_cited_evaluation_read_only(client, superuser, cited):
    evaluation, _ = cited
    client.force_login(superuser)
    url = admin_url(evaluation, "change", evaluation.pk)

    page = client.get(url)
    response = client.post(url, {**post_data(evaluation), "title": "Renamed"})

    assert page.status_code == 200 and 'name="title"' not in page.content.decode()
    assert response.status_code == 403
    evaluation.refresh_from_db()
    assert evaluation.title != "Renamed"


def test_the_admin_shows_no_token_hash_or_secret_prefix(admin_client):
    user = make.user("pipeline-owner")
    token, raw = ApiToken.issue(user, "release pipeline")
    pages = [
        admin_url(token, "changelist"),
        admin_url(token, "change", token.pk),
        admin_url(token, "history", token.pk),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert "release pipeline" in html, url
        assert token.key_hash not in html and raw[:10] not in html, url
