"""Every write leaves one history row and one audit event, in one transaction; the chain verifies."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import factories as make
from conftest import owner_url, postgres_only, requires_two_roles
from riskreg.audit.chain import bulk_create_with_history, verify_database
from riskreg.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from riskreg.evaluations.models import AIModel
from riskreg.risks.models import Risk
from test_demo_data import tracked_models

pytestmark = pytest.mark.django_db


def events_for(obj):
    return AuditEvent.objects.filter(model=obj._meta.label, object_id=str(obj.pk)).order_by("seq")


def new_risk(**extra):
    values = dict(
        code="R-1", title="A risk", description="d", owner="team",
        inherent_likelihood=3, inherent_impact=4, residual_likelihood=2, residual_impact=4,
    )  # fmt: skip
    values.update(extra)
    return Risk(**values)


def test_a_create_a_change_and_a_delete_each_append_one_event_with_the_user():
    user = make.user("alice")
    risk = new_risk()
    risk._history_user = user
    risk.save()
    risk.title = "A sharper title"
    risk._history_user = user
    risk.save()
    risk._history_user = user
    risk.delete()

    events = list(AuditEvent.objects.filter(model="risks.Risk").order_by("seq"))
    assert [event.action for event in events] == ["+", "~", "-"]
    assert {event.username for event in events} == {"alice"}
    assert events[1].changes == {"title": {"old": "A risk", "new": "A sharper title"}}
    assert events[0].changes["inherent_likelihood"] == {"old": None, "new": 3}
    # one history row per event, and the event names it
    history_ids = list(Risk.history.order_by("history_id").values_list("history_id", flat=True))
    assert [event.history_id for event in events] == history_ids


def test_each_event_links_to_the_one_before():
    make.category()
    make.category()
    first, second = AuditEvent.objects.order_by("seq")[:2]
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    head = AuditHead.objects.get()
    last = AuditEvent.objects.order_by("-seq").first()
    assert (head.seq, head.hash) == (last.seq, last.hash)


def test_a_many_to_many_change_is_an_event_with_the_new_set():
    risk = new_risk()
    risk.save()
    evaluation = make.evaluation()
    risk.evaluations.add(evaluation)
    last = events_for(risk).last()
    assert last.action == "~"
    assert last.changes == {"evaluations": {"old": [], "new": [evaluation.pk]}}


def test_verify_reads_m2m_history_in_batches_not_per_row():
    """The queries verify_audit runs stay the same when the m2m history rows grow fivefold."""
    risk = new_risk()
    risk.save()
    snap, cat = make.snapshot(), make.category()
    evaluations = [make.evaluation(snap=snap, cat=cat) for _ in range(2)]

    def change_links(times):
        for n in range(times):
            risk.evaluations.set([evaluations[n % 2]])  # a remove and an add: two history rows each

    def verify_queries():
        with CaptureQueriesContext(connection) as queries:
            assert verify_database().ok
        return len(queries)

    change_links(5)
    rows = Risk.history.filter(id=risk.pk).count()
    few = verify_queries()
    change_links(20)  # 25 changes in all: five times as many
    assert Risk.history.filter(id=risk.pk).count() >= 4 * rows
    assert verify_queries() == few


def test_a_failing_write_leaves_neither_history_nor_event():
    existing = make.category()
    events_before, history_before = AuditEvent.objects.count(), existing.history.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        # saved, then the second write fails: the whole transaction goes, history and event included
        make.category(slug="fresh")
        make.category(slug=existing.slug)
    assert AuditEvent.objects.count() == events_before
    assert type(existing).history.count() == history_before
    assert verify_database().ok


def test_the_bulk_helper_writes_history_and_events_for_every_row():
    user = make.user("loader")
    models = [AIModel(slug=f"bulk-{n}", name=f"Bulk {n}", developer="Lab") for n in range(25)]
    bulk_create_with_history(models, AIModel, user=user, reason="bulk load", batch_size=10)
    assert AIModel.objects.count() == 25
    assert AIModel.history.filter(history_user=user, history_change_reason="bulk load").count() == 25
    events = AuditEvent.objects.filter(model="evaluations.AIModel")
    assert events.count() == 25 and set(events.values_list("username", flat=True)) == {"loader"}
    assert verify_database().ok


def test_the_admin_writes_history_and_an_event_as_the_admin(client, superuser):
    category = make.category()
    client.force_login(superuser)
    url = reverse("admin:frameworks_threatcategory_change", args=[category.pk])
    response = client.post(url, {"slug": category.slug, "name": "Renamed", "description": "", "order": 3})
    assert response.status_code == 302
    event = events_for(category).last()
    assert (event.action, event.username) == ("~", superuser.username)
    assert event.changes["name"] == {"old": category.name, "new": "Renamed"}
    assert category.history.first().history_user == superuser


def test_the_demo_leaves_one_event_per_history_row_for_every_tracked_model(demo):
    report = verify_database()
    assert report.ok, report.problems
    history_rows = sum(model.history.count() for model in tracked_models())
    assert report.count == history_rows == AuditEvent.objects.count()
    for model in tracked_models():
        expected = model.objects.exists()  # the demo makes no API tokens
        assert AuditEvent.objects.filter(model=model._meta.label).exists() == expected, model


def test_it_names_an_event_edited_in_the_database(demo):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the edit itself (see the trigger tests)")
    event = AuditEvent.objects.get(seq=10)
    event.username = "mallory"
    event.save()
    report = verify_database()
    assert "event 10 was altered: its hash does not match its content" in report.problems


def test_it_names_an_event_deleted_from_the_database(demo):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the delete itself (see the trigger tests)")
    AuditEvent.objects.filter(seq=12).delete()
    problems = verify_database().problems
    assert "event 12 is missing (next is 13)" in problems
    assert any("has no audit event" in problem for problem in problems)


def test_it_names_a_history_row_edited_or_written_around_the_trail(demo):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the edit itself (see the trigger tests)")
    history = Risk.history.earliest()
    Risk.history.filter(history_id=history.history_id).update(title="Rewritten")  # a direct edit
    problems = verify_database().problems
    assert any(f"history row risks.Risk #{history.history_id}" in p and "was altered" in p for p in problems)


@postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET username = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_auditevent WHERE seq = 1",
        "UPDATE risks_historicalrisk SET title = 'x'",
        "DELETE FROM risks_historicalrisk",
        "DELETE FROM risks_historicalrisk_evaluations",
        "UPDATE decisions_historicalreleasedecision SET status = 'approved'",
        "TRUNCATE audit_auditevent",
        "TRUNCATE risks_historicalrisk",
    ],
)
def test_postgres_refuses_direct_edits_of_the_trail(demo, statement):
    """The app's role has no UPDATE, DELETE or TRUNCATE on the trail (and the triggers back that up)."""
    with pytest.raises(DatabaseError, match="permission denied|append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert verify_database().ok


@requires_two_roles
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET username = 'mallory'",
        "DELETE FROM risks_historicalrisk",
        "TRUNCATE audit_auditevent",
        "TRUNCATE risks_historicalrisk CASCADE",
    ],
)
def test_the_triggers_stop_the_owner_too(committed_db, statement):
    import psycopg

    with transaction.atomic():
        new_risk().save()
    with psycopg.connect(owner_url()) as owner, pytest.raises(psycopg.Error, match="append-only"):
        owner.execute(statement)
    assert verify_database().ok


@postgres_only
def test_every_history_table_is_append_only(db):
    from riskreg.audit.triggers import append_only_tables

    tables = append_only_tables()
    assert "audit_auditevent" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers "
            "WHERE trigger_name = 'riskreg_append_only'"
        )
        protected = {row[0] for row in cursor.fetchall()}
    for model in tracked_models():
        assert model.history.model._meta.db_table in protected, model
    assert set(tables) <= protected


@requires_two_roles
def test_an_edit_made_with_triggers_disabled_is_still_caught(committed_db):
    """The database owner can switch triggers off; the chain still names the edit."""
    import psycopg

    with transaction.atomic():
        for _ in range(3):
            make.category()
    with psycopg.connect(owner_url(), autocommit=True) as owner:
        owner.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER riskreg_append_only")
        owner.execute("UPDATE audit_auditevent SET reason = 'nothing to see' WHERE seq = 2")
        owner.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER riskreg_append_only")
    assert "event 2 was altered: its hash does not match its content" in verify_database().problems


def test_it_refuses_a_tracked_write_outside_a_transaction(committed_db):
    events, users = AuditEvent.objects.count(), get_user_model().objects.count()  # the migrations record roles
    with pytest.raises(transaction.TransactionManagementError, match="only inside a transaction"):
        make.category()
    assert AuditEvent.objects.count() == events
    assert get_user_model().objects.count() == users
