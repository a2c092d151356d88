#!/usr/bin/env python3
"""A load run: gunicorn on loopback, wrk from the same machine, mixed page reads for 60 s.

    apt-get install -y wrk     # Debian's package
    .venv/bin/python scripts/with_postgres.py -- sh -c '... generate_data ... && .venv/bin/python bench/load.py'

Serves the database of DATABASE_URL (generate the data first) with gunicorn, as many sync
workers as cores, DEBUG off; logs one reader in; then runs wrk with 32 connections over a
fixed mix of page reads (list pages first and deep, record pages, the gate's decision page,
the home page). Prints requests/s, latency percentiles and the error count (socket errors and
non-2xx/3xx answers), and appends a line to BENCHMARKS.md.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
# The server and this script must agree on the key that signs the session.
# Plain HTTP on loopback: no TLS redirect; static files collected into a temporary folder.
os.environ.update(DEBUG="0", SECRET_KEY=os.environ.get("BENCH_SECRET_KEY", "bench-load-run-only"),
                  ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", DJANGO_SETTINGS_MODULE="riskreg.settings",
                  STATIC_ROOT=tempfile.mkdtemp(prefix="riskreg-static-"))  # fmt: skip

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from record import record  # noqa: E402

from riskreg.audit.models import AuditEvent  # noqa: E402
from riskreg.decisions.models import ReleaseDecision  # noqa: E402
from riskreg.evaluations.models import Evaluation  # noqa: E402
from riskreg.risks.models import Risk  # noqa: E402

LUA = """
paths = {%(paths)s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Cookie"] = "%(cookie)s"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%%d seconds=%%f p50=%%d p90=%%d p99=%%d max=%%d " ..
    "connect=%%d read=%%d write=%%d status=%%d timeout=%%d\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mix() -> list[str]:
    step = max(1, Evaluation.objects.count() // 20)
    evaluations = list(Evaluation.objects.order_by("-pk").values_list("pk", flat=True))[::step]
    risks = list(Risk.objects.order_by("code").values_list("pk", flat=True)[:10])
    deep_evaluation = evaluations[-1]
    deep_event = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[AuditEvent.objects.count() * 9 // 10]
    decision = ReleaseDecision.objects.filter(reference="D8").values_list("pk", flat=True).first()
    paths = ["/", "/evaluations/", f"/evaluations/?after={deep_evaluation}", "/evaluations/?outcome=crossed",
             "/risks/", "/decisions/", "/audit/", f"/audit/?before={deep_event}"]  # fmt: skip
    paths += [f"/evaluations/{pk}/" for pk in evaluations[:10]] + [f"/risks/{pk}/" for pk in risks[:5]]
    if decision:
        paths.append(f"/decisions/{decision}/")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        print("wrk is not installed: apt-get install -y wrk")
        return 2
    call_command("collectstatic", "--noinput", verbosity=0)
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-reader", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    paths = mix()
    connection.close()

    port = free_port()
    workers = os.cpu_count() or 1
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "riskreg.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--access-logfile", "-", "--access-logformat", "%(M)s %(s)s %(U)s?%(q)s", "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for path in paths:  # every path answers 200 for this reader before the run counts errors
            request = urllib.request.Request(base + path, headers={"Cookie": cookie})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200 and response.url == base + path, (path, response.status, response.url)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % {"paths": ", ".join(f'"{p}"' for p in paths), "cookie": cookie})
        run = subprocess.run(
            [wrk, "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "10s", "-s", script.name, base],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        os.unlink(script.name)
    finally:
        server.send_signal(signal.SIGTERM)
        access_log, server_errors = server.communicate(timeout=30)
    found = dict(re.findall(r"(\w+)=([\d.]+)", run.stdout.split("RESULT", 1)[1]))
    requests, seconds = int(found["requests"]), float(found["seconds"])
    errors = sum(int(found[k]) for k in ("connect", "read", "write", "status", "timeout"))
    ms = {k: int(found[k]) / 1000 for k in ("p50", "p90", "p99", "max")}
    database = connection.vendor
    if database == "postgresql":
        database += f" {connection.pg_version // 10000}"
    sizes = (f"{Evaluation.objects.count():,} evaluations, {AuditEvent.objects.count():,} audit events; "
             f"{len(paths)} paths")  # fmt: skip
    print(f"gunicorn, {workers} sync workers; wrk -t2 -c{args.connections} -d{args.seconds}s; {database}; {sizes}")
    print(f"requests/s {requests / seconds:.1f}; p50 {ms['p50']:.0f} ms, p90 {ms['p90']:.0f} ms, "
          f"p99 {ms['p99']:.0f} ms, max {ms['max']:.0f} ms; errors {errors} ({requests:,} requests)")  # fmt: skip
    slowest: dict[str, list[int]] = {}
    for line in access_log.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0].isdigit():
            slowest.setdefault(parts[2], []).append(int(parts[0]))
    print("server time by path (ms): " + "; ".join(
        f"{path} p50 {sorted(t)[len(t) // 2]} max {max(t)}"
        for path, t in sorted(slowest.items(), key=lambda item: -max(item[1]))[:6]))  # fmt: skip
    if server_errors.strip():
        print("server log:\n" + server_errors[-2000:])
    record("bench/load.py", database, sizes,
           f"{requests / seconds:.1f} req/s, p99 {ms['p99']:.0f} ms, errors {errors}, "
           f"{args.connections} connections × {args.seconds} s, {workers} gunicorn workers")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
