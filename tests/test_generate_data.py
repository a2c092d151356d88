"""generate_data: synthetic records with their history and a verifying chain, the same for the same seed."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from riskreg.audit.chain import verify_database
from riskreg.audit.models import AuditEvent
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.models import AIModel, Evaluation
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def generate(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_data", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def content(seed_prefix):
    return (
        list(Evaluation.objects.filter(snapshot__model__slug__startswith=seed_prefix).order_by("title").values_list(
            "title", "kind", "outcome", "score", "category__slug", "snapshot__name", "is_external", "started_on")),
        list(Risk.objects.filter(code__startswith="S").order_by("code").values_list(
            "code", "inherent_likelihood", "residual_impact", "status", "category__slug")),
        list(ReleaseDecision.objects.filter(reference__startswith="S").order_by("reference").values_list(
            "reference", "scope", "effective_date", "snapshot__name")),
    )  # fmt: skip


def test_generated_records_have_history_and_a_verifying_chain(demo):
    before = AuditEvent.objects.count()
    out, err = generate("--models", "3", "--evaluations", "120", "--risks", "30", "--decisions", "7",
                        "--events", str(before + 400), "--seed", "5")  # fmt: skip
    assert "Generated (seed 5)" in out and "evaluations" in err  # the progress went to stderr
    assert Evaluation.objects.filter(snapshot__model__slug__startswith="syn5-").count() == 120
    assert Risk.objects.filter(code__startswith="S5-").count() == 30
    assert ReleaseDecision.objects.filter(reference__startswith="S5-").count() == 7
    assert AuditEvent.objects.count() == before + 400
    rescored = Evaluation.history.filter(history_type="~", history_change_reason="re-scored (synthetic)")
    assert rescored.count() > 0
    for model in (Evaluation, Risk, ReleaseDecision, AIModel):
        assert model.history.filter(history_type="+").count() >= model.objects.count()
    report = verify_database()
    assert report.ok, report.problems
    changed = AuditEvent.objects.filter(reason="re-scored (synthetic)").first()
    assert set(changed.changes) == {"score"}  # the event holds the field that changed, old and new


def test_the_same_seed_gives_the_same_records(demo):
    args = ["--models", "2", "--evaluations", "40", "--risks", "10", "--decisions", "3"]

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():  # generate, look, and roll back
        generate(*args, "--seed", "9")
        first = content("syn9-")
        raise Undo
    assert not Evaluation.objects.filter(snapshot__model__slug__startswith="syn9-").exists()
    generate(*args, "--seed", "9")
    assert content("syn9-") == first and len(first[0]) == 40
    generate(*args, "--seed", "8")
    eights = content("syn8-")[0]
    assert [row[3] for row in eights] != [row[3] for row in first[0]]


def test_a_seed_used_twice_is_refused_and_writes_nothing(demo):
    generate("--models", "1", "--evaluations", "5", "--risks", "2", "--decisions", "1", "--seed", "3")
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="seed 3 exists already"):
        generate("--models", "1", "--evaluations", "5", "--seed", "3")
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("args, message", [
    (["--evaluations", "-1"], "out of range"),
    (["--evaluations", "lots"], "not a whole number"),
    (["--models", "0", "--evaluations", "5"], "give --models 1 or more"),
])  # fmt: skip
def test_bad_arguments_are_refused_with_a_message(demo, args, message):
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message):
        generate(*args)
    assert AuditEvent.objects.count() == events


def test_without_framework_data_it_says_what_to_run(db):
    with pytest.raises(CommandError, match="run `manage.py seed_demo` first"):
        generate("--models", "1")
