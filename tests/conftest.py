"""Shared fixtures: one user per role, and the demo data.

On PostgreSQL with two roles (scripts/with_postgres.py sets MIGRATE_DATABASE_URL) the test
database is created, migrated, emptied between transactional tests and dropped by the owner role,
while every test runs connected as the app's role, which owns nothing: the suite proves the app
works with only the rights `migrate` grants it.
"""

import os
import socket
from contextlib import ExitStack, contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction

from riskreg.accounts.roles import APPROVER, AUDITOR, COMPLIANCE, EVALUATOR, VIEWER
from riskreg.lib.dbroles import as_owner


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "")
    return f"riskreg database: {'PostgreSQL (' + url.split('@')[-1] + ')' if url else 'SQLite'}"


def _user(username, group=None, **extra):
    with transaction.atomic():  # users are tracked: written only inside a transaction
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
def compliance(db):
    return _user("t-compliance", COMPLIANCE)


@pytest.fixture
def superuser(db):
    return _user("t-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def demo(db):
    """The demo data, without demo logins: seeded once, then loaded as rows where it fits (tests/demo_snapshot.py)."""
    import demo_snapshot

    return demo_snapshot.demo()


def pytest_terminal_summary(terminalreporter):
    import demo_snapshot

    if any(demo_snapshot.counts.values()):
        terminalreporter.write_line(
            f"demo: seeded {demo_snapshot.counts['seeded']} times, loaded from a snapshot "
            f"{demo_snapshot.counts['loaded']} times"
        )


def pytest_collection_modifyitems(items):
    """A test's demo is made before its other fixtures (its users, its client), on the database as migrated.

    So the demo is the same for every test and is loaded from one snapshot, instead of being seeded after
    each test's own users (whose rows and trail events would come first and differ from test to test).
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if not names or "demo" not in names:
            continue
        own = [name for name in item._fixtureinfo.argnames if name != "demo" and name in names]
        if not own:
            continue
        first = min(names.index(name) for name in own)
        if names.index("demo") > first:
            names.remove("demo")
            names.insert(first, "demo")


@pytest.fixture(autouse=True, scope="session")
def _audit_signing_key_in_a_temporary_folder(tmp_path_factory):
    """seed_demo makes a demo signing key where AUDIT_SIGNING_KEY says: never the project's own folder."""
    from django.conf import settings

    settings.AUDIT_SIGNING_KEY = str(tmp_path_factory.mktemp("audit-key") / "audit-signing.key")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Tests create many users; the production hasher is deliberately slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SIGNER_KEY_ITERATIONS = 1000  # the signing key's derivation, as slow as the hasher in production


@pytest.fixture(autouse=True)
def _sign_offs_count_without_signature(settings):
    """Most tests sign through lifecycle.sign() directly, as a person who never typed a password: their
    sign-offs carry no signature. The pages always sign with the signer's key; the tests of that rule
    (tests/decisions/test_signer_keys.py) and the browser tests switch it back on."""
    settings.SIGN_OFFS_NEED_SIGNATURE = False


ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (runs in make test's second pass)")


@pytest.fixture
def committed_db(transactional_db):
    """Real commits (no wrapping test transaction), for concurrency and transaction tests.

    The tables are emptied afterwards by pytest-django's flush, as the owner (see _flush_as_owner).
    An earlier such test has emptied the tables the migrations filled, so the role groups are put
    back first.
    """
    from django.apps import apps

    from riskreg.accounts.roles import apply_roles

    apply_roles(apps)
    yield


_owner_for_setup = ExitStack()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The owner role creates and migrates the test database (django_db_setup below switches back)."""
    _owner_for_setup.enter_context(as_owner())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Tests connect as the app role; the owner comes back only to drop the test database."""
    _owner_for_setup.close()
    yield
    with django_db_blocker.unblock():
        connection.close()
    _owner_for_setup.enter_context(as_owner())  # left open: pytest-django's teardown drops the database next


@contextmanager
def append_only_triggers_off(conn):
    """As the owner: the TRUNCATE triggers of the trail off for the block (a test database only)."""
    from riskreg.audit.triggers import append_only_tables

    if conn.vendor != "postgresql":
        yield
        return
    existing = set(conn.introspection.table_names())
    tables = [conn.ops.quote_name(table) for table in append_only_tables() if table in existing]
    with conn.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER riskreg_append_only_truncate")
    try:
        yield
    finally:
        with conn.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER riskreg_append_only_truncate")


@pytest.fixture(scope="session", autouse=True)
def _flush_as_owner():
    """pytest-django empties the tables after a transactional test with `flush`: the owner does that.

    The app role may not TRUNCATE (nor does production code have any way around the triggers).
    """
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self, **options):
        with as_owner(options.get("database", "default")) as conn, append_only_triggers_off(conn):
            return original(self, **options)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


def owner_url() -> str:
    """A libpq URL of the test database for the owner role (two-role PostgreSQL runs only)."""
    from django.conf import settings

    owner = settings.MIGRATE_DATABASE
    return (
        f"postgres://{owner['USER']}:{owner['PASSWORD']}@{owner['HOST'] or 'localhost'}:{owner['PORT'] or 5432}"
        f"/{connection.settings_dict['NAME']}"
    )


requires_two_roles = pytest.mark.skipif(
    not (ON_POSTGRES and os.environ.get("MIGRATE_DATABASE_URL")),
    reason="needs PostgreSQL with an owner and an app role (scripts/with_postgres.py)",
)


class _Inbox:
    """What a real SMTP server (aiosmtpd, on loopback) received, parsed as a mail client would."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return "250 Message accepted"

    def to(self, address):
        return [m for m in self.messages if address in m["To"]]

    def wait_for(self, count, timeout=10.0):
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def _mail_not_paused():
    """A test that found the mail server down pauses sending after commits (outbox.PAUSE_SECONDS): not the next."""
    from riskreg.notifications import outbox

    outbox.resume()
    yield
    outbox.resume()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server started for the test; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 5
    settings.SITE_URL = "https://riskreg.example"
    inbox.port = controller.port
    yield inbox
    controller.stop()
