"""Every list page runs the same number of queries for 10 rows as for 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import factories as make
from riskreg.audit.chain import bulk_create_with_history
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.models import Evaluation
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def add_rows(n, user):
    snapshot, category, version = make.snapshot(), make.category(), make.framework_version()
    bulk_create_with_history(
        [Evaluation(snapshot=snapshot, category=category, title=f"E{i}", kind="survey", run_by="lab",
                    finding="f", source_section="1", recorded_by=user, score=i) for i in range(n)],
        Evaluation, user=user,
    )  # fmt: skip
    bulk_create_with_history(
        [Risk(code=f"Q{snapshot.pk}-{i}", title="r", description="d", owner="o", category=category,
              inherent_likelihood=1 + i % 5, inherent_impact=1 + i % 3, residual_likelihood=1,
              residual_impact=1) for i in range(n)],
        Risk, user=user,
    )  # fmt: skip
    bulk_create_with_history(
        [ReleaseDecision(snapshot=snapshot, framework_version=version, title=f"D{i}", scope="internal_use",
                         rationale="r", author=user) for i in range(n)],
        ReleaseDecision, user=user,
    )  # fmt: skip


@pytest.mark.parametrize("url", ["evaluations:list", "risks:list", "decisions:list", "audit:list", "home"])
def test_a_list_page_costs_the_same_queries_at_10_and_500_rows(client, superuser, url):
    client.force_login(superuser)
    add_rows(10, superuser)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(url)).status_code == 200
        return len(captured.captured_queries)

    at_10 = count()
    add_rows(490, superuser)
    assert Evaluation.objects.count() == 500
    assert count() == at_10
