"""Production settings, content security policy, session lifetimes, log-in throttling, upload size, faults."""

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

import factories as make
from conftest import postgres_only
from riskreg.accounts.models import LoginFailure
from riskreg.audit.models import AuditEvent
from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.lib.security import CONTENT_SECURITY_POLICY, LOGIN_AT, SEEN_AT

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {  # the documented production environment (.env.example), without a database
    "DEBUG": "0", "SECRET_KEY": "a-production-secret-" + "x" * 40, "ALLOWED_HOSTS": "riskreg.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://riskreg.example.org", "SECURE_PROXY_SSL_HEADER": "1",
    "EMAIL_HOST": "smtp.example.org", "SITE_URL": "https://riskreg.example.org",
    # a key file of its own, never the project folder's (seed_demo would make a demo key there)
    "AUDIT_SIGNING_KEY": str(Path(tempfile.mkdtemp(prefix="riskreg-test-key-")) / "audit-signing.key"),
}  # fmt: skip


def manage(*args, **env):
    # The production environment, not the test run's: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE.
    unset = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "MIGRATE_DATABASE_URL",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_check_deploy_passes_with_the_documented_production_environment():
    if not Path(PRODUCTION["AUDIT_SIGNING_KEY"]).exists():  # made once, as the README's set-up says
        assert manage("audit_keygen", "--name", "riskreg.example.org/audit", **PRODUCTION).returncode == 0
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_a_protection_is_turned_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, SESSION_COOKIE_SECURE="0")
    assert result.returncode != 0 and "SESSION_COOKIE_SECURE" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    """A production SQLite database migrated once (in a subprocess, ~6 s); each test gets a copy."""
    path = tmp_path_factory.mktemp("production-db") / "prod.sqlite3"
    assert manage("migrate", "-v0", **PRODUCTION, DATABASE_URL=f"sqlite:///{path}").returncode == 0
    return path


@pytest.mark.parametrize("debug", ["0", "unset"])
def test_seed_demo_makes_no_logins_with_debug_off(tmp_path, debug, migrated_database):
    """DEBUG left unset is off too: the demo superuser admin/riskreg-demo never reaches a shared database."""
    shutil.copyfile(migrated_database, tmp_path / "prod.sqlite3")
    env = dict(PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/prod.sqlite3")
    if debug == "unset":
        del env["DEBUG"]
    assert manage("migrate", "-v0", **env).returncode == 0  # in this environment too (nothing left to apply)
    result = manage("seed_demo", **env)
    assert result.returncode == 0, result.stderr
    assert "no demo logins were created" in result.stdout
    assert "DEBUG=1" in result.stdout  # how to get them on a development machine
    users = manage("shell", "--no-imports", "-c",
                   "from django.contrib.auth.models import User; print(User.objects.filter(is_active=True).count())",
                   **env)  # fmt: skip
    assert users.stdout.strip() == "0"


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy(client, viewer):
    client.force_login(viewer)
    for url in ["/", reverse("evaluations:list"), reverse("risks:list"), reverse("accounts:login")]:
        policy = client.get(url)["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in policy and "script-src 'self'" in policy


def test_django_sets_referrer_policy_and_nosniff_on_pages_downloads_and_errors(client, viewer, settings, tmp_path):
    """riskreg sets neither header by hand: Django's SecurityMiddleware does, on every response."""
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    evaluation = make.evaluation()
    piece = Evidence(evaluation=evaluation, kind="file", title="Log", added_by=evaluation.recorded_by,
                     original_name="log.html", content_type="text/html")  # fmt: skip
    piece.file.save("log.html", ContentFile(b"<script>alert(1)</script>"), save=False)
    with transaction.atomic():
        piece._change_reason = "a file that must not be sniffed as a page"
        piece.save()
    client.force_login(viewer)
    download = reverse("evaluations:evidence-download", args=[piece.pk])
    for url in ["/", reverse("accounts:login"), "/no-such-page/", download]:
        response = client.get(url)
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Content-Type-Options"] == "nosniff", url


def test_no_template_holds_inline_script_or_style():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and "<script " not in text.replace('<script src="', ""), template
        assert " style=" not in text and "<style" not in text, template
        assert "javascript:" not in text and " onclick=" not in text, template


@pytest.mark.django_db
@pytest.mark.parametrize("age, key", [(31 * 60, SEEN_AT), (12 * 3600 + 60, LOGIN_AT)])
def test_a_session_ends_after_idling_or_at_its_absolute_lifetime(client, viewer, age, key):
    client.force_login(viewer)
    assert client.get("/").status_code == 200
    session = client.session
    session[key] = time.time() - age
    if key == LOGIN_AT:
        session[SEEN_AT] = time.time()
    session.save()
    response = client.get(reverse("evaluations:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert client.get("/").status_code == 302  # logged out for good, not just redirected once


@pytest.mark.django_db
def test_an_active_session_stays(client, viewer):
    client.force_login(viewer)
    session = client.session
    session[SEEN_AT] = time.time() - 29 * 60
    session.save()
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_log_in_is_refused_after_five_failures_even_with_the_right_password(client, viewer, settings):
    viewer.set_password("the-right-password-1")
    viewer.save()
    url = reverse("accounts:login")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert client.post(url, {"username": viewer.username, "password": "wrong"}).status_code == 200
    response = client.post(url, {"username": viewer.username, "password": "the-right-password-1"})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    LoginFailure.objects.update(at="2000-01-01T00:00:00Z")  # the window has passed
    response = client.post(url, {"username": viewer.username, "password": "the-right-password-1"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(viewer.pk)


@pytest.mark.django_db
def test_the_admin_log_in_is_throttled_too(client, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "guess"})
    assert client.post("/admin/login/", {"username": "root", "password": "guess"}).status_code == 429


PARALLEL_GUESSES_ON_SQLITE = """
import json, sys, threading, time
import django
django.setup()
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client

settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
settings.STORAGES = {**settings.STORAGES,  # no collectstatic here
                     "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with transaction.atomic():
    User.objects.create_user("rosa", password="the-right-password-1")
checked, statuses, errors, lock = [], [], [], threading.Lock()
authenticate = ModelBackend.authenticate

def counted(self, request, username=None, password=None, **kwargs):
    with lock:
        checked.append(username)
    time.sleep(0.2)
    return authenticate(self, request, username=username, password=password, **kwargs)

ModelBackend.authenticate = counted
start = threading.Barrier(30)

def guess(n):
    try:
        client = Client(SERVER_NAME="riskreg.example.org")
        start.wait()
        response = client.post(sys.argv[1], {"username": ["rosa", " rosa", "\\uff52\\uff4f\\uff53\\uff41"][n % 3],
                               "password": "guess"}, REMOTE_ADDR=f"10.0.0.{n}", secure=True)
        with lock:
            statuses.append(response.status_code)
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()

threads = [threading.Thread(target=guess, args=(n,)) for n in range(30)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"checked": len(checked), "statuses": sorted(statuses), "errors": errors[:3]}))
"""


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_parallel_wrong_guesses_on_a_sqlite_file_reach_at_most_the_limit(tmp_path, migrated_database, url):
    """The same attack on the embedded default (a SQLite file, DEBUG off, threads as gunicorn's): a
    deferred SQLite transaction reads before it writes, so parallel ones deadlocked ("database is
    locked") or overtook the count; the throttle's transaction takes the write lock first."""
    shutil.copyfile(migrated_database, tmp_path / "prod.sqlite3")
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "MIGRATE_DATABASE_URL"}}
    env.update(PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/prod.sqlite3", DJANGO_SETTINGS_MODULE="riskreg.settings")
    result = subprocess.run([sys.executable, "-c", PARALLEL_GUESSES_ON_SQLITE, url], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == [] and outcome["checked"] == 5, outcome
    assert outcome["statuses"] == [200] * 5 + [429] * 25, outcome


def fullwidth(text: str) -> str:
    """The full-width form of ASCII text ("ｖｉｅｗｅｒ"), which NFKC turns back into it."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def make_rosa():
    with transaction.atomic():  # users are tracked
        return get_user_model().objects.create_user("rosa", password="the-right-password-1")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_the_throttle_counts_every_spelling_that_logs_in_as_the_same_account(client, settings, url):
    """Issue 27: the throttle counted the raw name while the form strips it and applies NFKC, so
    " rosa", "rosa " and "ｒｏｓａ" each had their own count and logged in once "rosa" was throttled."""
    rosa = make_rosa()
    spellings = ["rosa", " rosa", "rosa ", fullwidth("rosa"), "\trosa\n", " " + fullwidth("rosa")]
    for spelling in spellings[: settings.LOGIN_FAILURE_LIMIT]:  # the failures spread over the spellings
        assert client.post(url, {"username": spelling, "password": "wrong"}).status_code == 200
    for spelling in spellings:
        response = client.post(url, {"username": spelling, "password": "the-right-password-1"})
        assert response.status_code == 429, spelling
        assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(username="rosa").count() == settings.LOGIN_FAILURE_LIMIT
    LoginFailure.objects.update(at="2000-01-01T00:00:00Z")  # the window has passed
    response = client.post(url, {"username": fullwidth("rosa"), "password": "the-right-password-1"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(rosa.pk)
    assert not LoginFailure.objects.filter(at__gt="2001-01-01T00:00:00Z").exists()  # a success is no failure


@postgres_only
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_parallel_wrong_guesses_reach_at_most_the_limit_of_password_checks(committed_db, settings, monkeypatch, url):
    """Issue 27: 30 wrong guesses at once had 10 passwords checked (limit 5): each request counted
    the failures, checked the password, and recorded its failure only after. Now each attempt is
    counted before its password is checked, under a lock: the count of checks is the limit."""
    from django.contrib.auth.backends import ModelBackend

    make_rosa()
    checked, statuses, errors = [], [], []
    lock = threading.Lock()
    authenticate = ModelBackend.authenticate

    def counted(self, request, username=None, password=None, **kwargs):
        with lock:
            checked.append(username)
        time.sleep(0.2)  # a slow hasher, as in production: every guess is in flight at once
        return authenticate(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counted)
    guesses = 30
    start = threading.Barrier(guesses)

    def guess(n):
        try:
            client = Client()
            spelling = ["rosa", " rosa", fullwidth("rosa")][n % 3]
            start.wait()
            # each from an address of its own, as from a botnet: only the name's count can stop them
            response = client.post(url, {"username": spelling, "password": f"guess {n}"}, REMOTE_ADDR=f"10.0.0.{n}")
            with lock:
                statuses.append(response.status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert len(checked) == settings.LOGIN_FAILURE_LIMIT, f"{len(checked)} passwords checked"
    assert sorted(statuses) == [200] * settings.LOGIN_FAILURE_LIMIT + [429] * (guesses - settings.LOGIN_FAILURE_LIMIT)
    assert Client().post(url, {"username": "rosa", "password": "the-right-password-1"}).status_code == 429


@pytest.mark.django_db
def test_an_oversized_upload_is_refused_before_it_is_read(client, evaluator, demo, settings, tmp_path):
    settings.EVIDENCE_MAX_BYTES = 1024 * 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # anything read would be spooled to tmp_path
    client.force_login(evaluator)
    evaluation = Evaluation.objects.first()
    events = AuditEvent.objects.count()
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024))
    with big.open("rb") as handle:
        response = client.post(reverse("evaluations:evidence-add", args=[evaluation.pk]),
                               {"kind": "file", "title": "Too big", "file": handle})  # fmt: skip
    assert response.status_code == 413
    assert "up to 1 MB" in response.content.decode()
    assert [p.name for p in tmp_path.iterdir()] == ["big.pdf"]  # no spooled upload
    assert not Evidence.objects.filter(title="Too big").exists() and AuditEvent.objects.count() == events


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/evaluations/1/evidence/add/", "/api/imports/", "/import/"])
def test_the_413_answer_carries_the_security_headers_of_every_response(client, evaluator, settings, url):
    """Issue 27: the upload refused from its Content-Length (before any view or inner middleware runs)
    lacked the Content-Security-Policy and X-Frame-Options that every other response has."""
    settings.EVIDENCE_MAX_BYTES = settings.IMPORT_MAX_BYTES = 1024
    client.force_login(evaluator)
    response = client.post(url, {"file": io.BytesIO(b"0" * 200_000)})
    assert response.status_code == 413
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff" and response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db(transaction=True)
def test_a_database_error_after_the_history_row_commits_nothing_and_shows_a_friendly_500(
    committed_db, client, evaluator, caplog
):
    client.raise_request_exception = False
    client.force_login(evaluator)
    with transaction.atomic():
        snapshot, category = make.snapshot(), make.category()
    form = {
        "snapshot": snapshot.pk, "category": category.pk, "title": "Fault injected",
        "kind": "survey", "run_by": "lab", "finding": "f", "outcome": "below_threshold", "confidence": "not_stated",
        "source_section": "9.9", "source_mark": "verified", "comparisons": "[]",
    }  # fmt: skip
    history_rows = Evaluation.history.count()
    events = AuditEvent.objects.count()

    def fail_after_history(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith('INSERT INTO "AUDIT_AUDITEVENT"'):
            raise DatabaseError("injected fault: the audit insert failed")
        return execute(sql, params, many, context)

    with caplog.at_level(logging.ERROR, logger="django.request"), connection.execute_wrapper(fail_after_history):
        response = client.post(reverse("evaluations:create"), form)
    assert response.status_code == 500
    assert "Nothing from it was saved" in response.content.decode()
    assert "injected fault" not in response.content.decode()  # no internals shown
    assert any("injected fault" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)
    assert not Evaluation.objects.filter(title="Fault injected").exists()
    assert Evaluation.history.count() == history_rows and AuditEvent.objects.count() == events
