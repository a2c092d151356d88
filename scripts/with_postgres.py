#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL server, then remove the server.

    python scripts/with_postgres.py -- pytest -q

Creates a cluster with initdb in a temporary folder, starts it on a free loopback port, runs the
command against it, then stops the server and deletes the folder, whatever the command's outcome.

The cluster has the two roles of a deployment (riskreg/lib/dbroles.py): `riskreg_owner` owns the
database and runs migrations (MIGRATE_DATABASE_URL; it may create databases, for the test
database), and `riskreg`, the app's role (DATABASE_URL), is no superuser, owns nothing and gets
its rights from `migrate`. The cluster's superuser (`postgres`) is used only to make the roles.
As root it runs the server as the `postgres` user, since PostgreSQL refuses to run as root.

When no PostgreSQL server binaries are found it prints why and exits 0 (skipped) — or 1 when
REQUIRE_POSTGRES=1, so CI can never pass without having tested on PostgreSQL.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DB_NAME = "riskreg"
SUPERUSER = "postgres"
OWNER = "riskreg_owner"
APP = "riskreg"


def find_bindir() -> str | None:
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            candidates.append(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(initdb))
    for bindir in candidates:
        if os.access(os.path.join(bindir, "initdb"), os.X_OK) and os.access(os.path.join(bindir, "pg_ctl"), os.X_OK):
            return bindir
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: with_postgres.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    required = os.environ.get("REQUIRE_POSTGRES") == "1"
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR"
        if required:
            print(f"FAIL: {message} (REQUIRE_POSTGRES=1).", file=sys.stderr)
            return 1
        print(f"SKIPPED the PostgreSQL run: {message}.", file=sys.stderr)
        return 0

    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    workdir = tempfile.mkdtemp(prefix="riskreg-pg-")
    datadir = os.path.join(workdir, "data")
    port = free_port()
    if as_root:
        shutil.chown(workdir, user="postgres")
    os.chmod(workdir, 0o700)

    def pg(*args, **kwargs):
        return subprocess.run(run_as + list(args), check=True, **kwargs)

    started = False
    try:
        pg(
            os.path.join(bindir, "initdb"),
            "-D",
            datadir,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            stdout=subprocess.DEVNULL,
        )
        # Throwaway server: durability off makes the suite much faster and cannot lose anything of value.
        options = f"-h 127.0.0.1 -p {port} -k {workdir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        pg(
            os.path.join(bindir, "pg_ctl"),
            "-D",
            datadir,
            "-o",
            options,
            "-l",
            os.path.join(workdir, "server.log"),
            "-w",
            "-t",
            "60",
            "start",
            stdout=subprocess.DEVNULL,
        )
        started = True
        psql = [os.path.join(bindir, "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres"]
        for statement in (
            f"CREATE ROLE {OWNER} LOGIN CREATEDB NOSUPERUSER NOCREATEROLE",
            f"CREATE ROLE {APP} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
            f"CREATE DATABASE {DB_NAME} OWNER {OWNER}",
        ):
            pg(*psql, "-q", "-v", "ON_ERROR_STOP=1", "-c", statement, stdout=subprocess.DEVNULL)
        server = f"127.0.0.1:{port}/{DB_NAME}"
        env = dict(
            os.environ,
            DATABASE_URL=f"postgres://{APP}@{server}",
            MIGRATE_DATABASE_URL=f"postgres://{OWNER}@{server}",
        )
        print(f"PostgreSQL ({bindir}) on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        process = subprocess.Popen(argv, env=env)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()
    except subprocess.CalledProcessError as error:
        print(f"FAIL: could not start PostgreSQL: {error}", file=sys.stderr)
        log = os.path.join(workdir, "server.log")
        if os.path.exists(log):
            print(open(log).read()[-4000:], file=sys.stderr)
        return 1
    finally:
        if started:
            subprocess.run(
                run_as + [os.path.join(bindir, "pg_ctl"), "-D", datadir, "-m", "fast", "-w", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.2)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
