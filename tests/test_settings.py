"""Settings come from the environment and refuse bad values loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from riskreg.settings import database_from_url

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env):
    """Import the settings in a fresh interpreter with exactly this environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "MIGRATE_DATABASE_URL"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import riskreg.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_it_requires_a_secret_key_when_debug_is_off():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_starts_in_production_mode_with_a_secret_key():
    result = load_settings(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_it_refuses_a_debug_value_it_does_not_understand():
    result = load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_it_uses_sqlite_in_the_project_folder_by_default():
    result = load_settings(SECRET_KEY="x" * 50)
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_debug_is_off_when_unset_so_it_asks_for_a_secret_key():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "DEBUG=1" in result.stderr


def test_debug_is_on_only_when_asked():
    result = load_settings(DEBUG="1")
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3"]


def test_it_reads_a_postgres_url():
    config = database_from_url("postgres://user:p%40ss@db.example:5433/riskreg?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == (
        "riskreg",
        "user",
        "p@ss",
        "db.example",
        "5433",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert config["ATOMIC_REQUESTS"] is True


def test_it_reads_a_postgres_url_with_options(monkeypatch):
    """Query parameters become the OPTIONS (numbers as numbers); CONN_MAX_AGE comes from its own variable."""
    monkeypatch.setenv("CONN_MAX_AGE", "5")
    config = database_from_url(
        "postgresql://app@db.example/riskreg?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=10"
        "&application_name=riskreg-web"
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"], config["PORT"]) == ("riskreg", "app", "", "")
    assert config["OPTIONS"] == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "connect_timeout": 10,
                                 "application_name": "riskreg-web"}  # fmt: skip
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"], config["ATOMIC_REQUESTS"]) == (5, True, True)


@pytest.mark.parametrize("url, name", [("sqlite:///db.sqlite3", "db.sqlite3"), ("sqlite:////srv/riskreg/db.sqlite3",
                                                                                 "/srv/riskreg/db.sqlite3")])
def test_it_reads_a_sqlite_url_relative_or_absolute(url, name):
    config = database_from_url(url)
    assert (config["ENGINE"], config["NAME"], config["ATOMIC_REQUESTS"]) == ("django.db.backends.sqlite3", name, True)


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://u@h/db", "scheme 'mysql' is not supported"),
        ("oracle://u@h/db", "scheme 'oracle' is not supported"),
        ("postgis://u@h/db", "scheme 'postgis' is not supported"),
        ("postgress://u@h/db", "scheme 'postgress' is not supported"),
        ("postgres://u@h:5432/", "names no database"),
        ("postgres://u@h:port/db", "not a valid URL"),
        ("sqlite:///", "names no file"),
        ("sqlite://:memory:", "names no file"),
    ],
)
def test_it_refuses_a_database_url_it_cannot_use(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url)


def test_a_mysql_database_url_stops_the_app_from_starting():
    result = load_settings(DEBUG="1", DATABASE_URL="mysql://app:secret@db.example/riskreg")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL scheme 'mysql' is not supported (use postgres:// or sqlite:///)" in (
        result.stderr
    )
    assert "secret" not in result.stderr


def test_the_migrate_role_must_use_the_same_postgres_database():
    result = load_settings(DEBUG="1", DATABASE_URL="postgres://app@db.example/riskreg",
                           MIGRATE_DATABASE_URL="postgres://owner@db.example/other")  # fmt: skip
    assert result.returncode != 0
    assert "MIGRATE_DATABASE_URL and DATABASE_URL must name the same PostgreSQL database" in result.stderr
    same = load_settings(DEBUG="1", DATABASE_URL="postgres://app@db.example/riskreg",
                         MIGRATE_DATABASE_URL="postgres://owner@db.example/riskreg")  # fmt: skip
    assert same.returncode == 0, same.stderr
    assert same.stdout.split() == ["True", "django.db.backends.postgresql"]


def test_requests_are_atomic(settings):
    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is True


def test_env_example_lists_every_setting_the_app_reads():
    """.env.example names each variable settings.py reads from the environment, and nothing else."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = (root / "riskreg" / "settings.py").read_text()
    read = set(re.findall(r"""(?:os\.environ\.get|env_bool|env_int|env_list)\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    read |= set(re.findall(r"""os\.environ\[["']([A-Z][A-Z0-9_]+)["']\]""", source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    assert read - listed == set(), "read by settings.py but missing from .env.example"
    assert listed - read == set(), "in .env.example but never read by settings.py"
    assert {"IMPORT_MAX_BYTES", "CONN_MAX_AGE", "STATIC_ROOT", "LOG_LEVEL", "SECURE_HSTS_SECONDS"} <= listed


@pytest.mark.django_db
def test_upload_limits_read_the_same_in_the_readme_and_the_forms():
    """The default limits as the README states them are what the evidence and import forms say."""
    from pathlib import Path

    from riskreg.evaluations.forms import EvidenceForm
    from riskreg.evaluations.models import Evaluation
    from riskreg.importers.forms import ImportForm

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    form = EvidenceForm(evaluation=Evaluation(pk=1))
    assert "at most 25 MB" in form.fields["file"].help_text and "25 MB at most by default" in readme
    assert "At most 200 MB per upload" in ImportForm().fields["log"].help_text and "200 MB" in readme


@pytest.mark.django_db
def test_one_date_format_on_the_pages(client, viewer):
    """"7 Apr 2026" everywhere: the tables' short format is the long one, never "07/04/2026"."""
    import datetime
    import re

    import factories as make

    evaluation = make.evaluation(title="Dated run", finished_on=datetime.date(2026, 4, 7))
    client.force_login(viewer)
    for url in (evaluation.get_absolute_url(), "/evaluations/", "/decisions/", "/risks/", "/"):
        page = client.get(url).content.decode()
        assert not re.search(r"\b\d{2}/\d{2}/\d{4}\b", page), url
        assert not re.search(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page), url
    assert "7 Apr 2026" in client.get(evaluation.get_absolute_url()).content.decode()
    decision = make.decision(effective_date=datetime.date(2026, 4, 7))
    listed = client.get("/decisions/").content.decode()
    assert str(decision.title) in listed and "7 Apr 2026" in listed  # a table's date column (SHORT_DATE_FORMAT)
