#!/usr/bin/env python3
"""List pages at scale: p50/p95 server time and queries, first and deep page, against a trivial view.

    .venv/bin/python scripts/with_postgres.py -- sh -c '
        .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo &&
        .venv/bin/python manage.py generate_data --models 50 --evaluations 100000 --risks 10000 \
            --decisions 2000 --events 300000 &&
        .venv/bin/python bench/list_pages.py --requests 200'

Runs against the database of DATABASE_URL as it is (generate the data first). Every page is
requested through Django's test client as a logged-in superuser, `--requests` times each, in
turns so that noise falls on all of them alike; the trivial view (a login-required view that
returns a few bytes) is measured in the same turns. Prints a table and appends a line to
BENCHMARKS.md.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
os.environ.setdefault("DEBUG", "1")  # a throwaway benchmark database, never a deployment

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from record import record  # noqa: E402

from riskreg.audit.models import AuditEvent  # noqa: E402
from riskreg.decisions.models import ReleaseDecision  # noqa: E402
from riskreg.decisions.views import ReleaseDecisionListView  # noqa: E402
from riskreg.evaluations.models import Evaluation  # noqa: E402
from riskreg.evaluations.views import EvaluationListView  # noqa: E402
from riskreg.risks.models import Risk  # noqa: E402
from riskreg.risks.views import RiskListView  # noqa: E402


@login_required
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


def floor(view_class):
    """The list view with the same queries and no rendering: its rows are read and decorated, its filter
    form's option lists are read, then it answers a few bytes. What a page costs beyond this is drawing it."""

    class Floor(view_class):
        def render_to_response(self, context, **kwargs):
            for field in context["filter"].form.fields.values():
                for _ in getattr(field, "choices", ()):  # iterated as the page does (list() would COUNT first)
                    pass
            return HttpResponse(b"ok", content_type="text/plain")

    return Floor.as_view()


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/floor/evaluations/", floor(EvaluationListView)),
    path("bench/floor/risks/", floor(RiskListView)),
    path("bench/floor/decisions/", floor(ReleaseDecisionListView)),
    path("", include(settings.ROOT_URLCONF)),
]


def deep_key(queryset, order: str, position: float):
    """The keyset value that starts the page at `position` (0..1) of the list."""
    total = queryset.count()  # setup only, not measured
    index = min(int(total * position), max(total - 1, 0))
    name = order.lstrip("-")
    return queryset.order_by(order).values_list(name, flat=True)[index], index


def pages() -> list[tuple[str, str]]:
    evaluation_after, evaluation_row = deep_key(Evaluation.objects.all(), "-pk", 0.99)
    risk_after, risk_row = deep_key(Risk.objects.all(), "code", 0.99)
    decision_after, decision_row = deep_key(ReleaseDecision.objects.all(), "-pk", 0.99)
    event_before, event_row = deep_key(AuditEvent.objects.all(), "-seq", 0.99)
    return [
        ("trivial view", "/bench/trivial/"),
        ("home (overview, latest decision per model)", "/"),
        ("evaluations, first page: floor (no rendering)", "/bench/floor/evaluations/"),
        ("evaluations, first page", "/evaluations/"),
        (f"evaluations, deep (row {evaluation_row:,}): floor", f"/bench/floor/evaluations/?after={evaluation_after}"),
        (f"evaluations, deep (row {evaluation_row:,})", f"/evaluations/?after={evaluation_after}"),
        ("evaluations, sorted by title, page 2", "/evaluations/?sort=title&page=2"),
        ("evaluations, sorted by -score, page 40", "/evaluations/?sort=-score&page=40"),
        ("evaluations, sorted by model / snapshot, page 2", "/evaluations/?sort=snapshot&page=2"),
        ("evaluations, filtered (outcome=crossed)", "/evaluations/?outcome=crossed"),
        ("risks, first page: floor (no rendering)", "/bench/floor/risks/"),
        ("risks, first page", "/risks/"),
        (f"risks, deep (row {risk_row:,})", f"/risks/?after={risk_after}"),
        ("decisions, first page: floor (no rendering)", "/bench/floor/decisions/"),
        ("decisions, first page", "/decisions/"),
        (f"decisions, deep (row {decision_row:,}): floor", f"/bench/floor/decisions/?after={decision_after}"),
        (f"decisions, deep (row {decision_row:,})", f"/decisions/?after={decision_after}"),
        ("admin changelist, evaluations, first page", "/admin/evaluations/evaluation/"),
        (f"admin changelist, evaluations, deep (row {evaluation_row:,})",
         f"/admin/evaluations/evaluation/?p={evaluation_row // 100}"),
        ("audit, first page", "/audit/"),
        (f"audit, deep (event {event_row:,} from the newest)", f"/audit/?before={event_before}"),
    ]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per page (default 200)")
    args = parser.parse_args()
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-reader", defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    sizes = (f"{Evaluation.objects.count():,} evaluations, {Risk.objects.count():,} risks, "
             f"{ReleaseDecision.objects.count():,} decisions, {AuditEvent.objects.count():,} audit events")  # fmt: skip
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["testserver"]):
        targets = pages()
        queries = {}
        for label, url in targets:  # warm up, check, and count queries
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            queries[label] = len(captured.captured_queries)
        times: dict[str, list[float]] = {label: [] for label, _ in targets}
        for _ in range(args.requests):
            for label, url in targets:
                start = time.perf_counter()
                response = client.get(url)
                times[label].append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
    trivial_p95 = percentile(times["trivial view"], 0.95)
    database = connection.vendor
    if database == "postgresql":
        database += f" {connection.pg_version // 10000}"
    print(f"{sizes}; {args.requests} requests per page; {database}; {os.cpu_count()} cores")
    print(f"{'page':56} {'p50 ms':>8} {'p95 ms':>8} {'× trivial p95':>14} {'queries':>8}")
    worst = 0.0
    for label, _ in targets:
        p50, p95 = statistics.median(times[label]), percentile(times[label], 0.95)
        ratio = p95 / trivial_p95
        if label != "trivial view":
            worst = max(worst, ratio)
        print(f"{label:56} {p50:8.1f} {p95:8.1f} {ratio:14.1f} {queries[label]:8}")
    slowest = max((percentile(times[label], 0.95), label) for label, _ in targets)
    record("bench/list_pages.py", database, sizes,
           f"slowest p95 {slowest[0]:.0f} ms ({slowest[1]}); worst ratio to trivial p95 {worst:.1f}×; "
           f"trivial p95 {trivial_p95:.1f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
