"""Shared fixtures: one user per role, and the demo data."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from riskreg.accounts.roles import APPROVER, AUDITOR, EVALUATOR, VIEWER
from riskreg.demo import DemoSeeder


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "")
    return f"riskreg database: {'PostgreSQL (' + url.split('@')[-1] + ')' if url else 'SQLite'}"


def _user(username, group=None, **extra):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def viewer(db):
    return _user("t-viewer", VIEWER)


@pytest.fixture
def evaluator(db):
    return _user("t-evaluator", EVALUATOR)


@pytest.fixture
def evaluator2(db):
    return _user("t-evaluator2", EVALUATOR)


@pytest.fixture
def approver(db):
    return _user("t-approver", APPROVER)


@pytest.fixture
def auditor(db):
    return _user("t-auditor", AUDITOR)


@pytest.fixture
def superuser(db):
    return _user("t-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def demo(db):
    """The demo data, without demo logins."""
    return DemoSeeder().run(with_accounts=False)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Tests create many users; the production hasher is deliberately slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (runs in make test's second pass)")


@pytest.fixture
def committed_db(transactional_db):
    """Real commits (no wrapping test transaction), for concurrency and transaction tests.

    The tables are emptied afterwards with TRUNCATE; on PostgreSQL the audit and history tables
    refuse that unless this session says it is the test runner. An earlier such test has emptied
    the tables the migrations filled, so the role groups are put back first.
    """
    from django.apps import apps

    from riskreg.accounts.roles import apply_roles

    apply_roles(apps)
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET riskreg.allow_truncate = 'on'")
