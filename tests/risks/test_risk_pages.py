"""The risk register's pages: heat maps that link to their risks, and forms that explain bad values."""

import re

import pytest
from django.urls import reverse

from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def test_each_heat_map_cell_counts_and_links_to_its_risks(client, viewer, demo):
    client.force_login(viewer)
    html = client.get(reverse("risks:list")).content.decode()
    assert html.count("<svg") == 2
    cells = re.findall(r'href="([^"]*residual_likelihood=(\d)&amp;residual_impact=(\d))" aria-label="(\d+) risk', html)
    assert cells
    for href, likelihood, impact, n in cells:
        assert Risk.objects.filter(residual_likelihood=likelihood, residual_impact=impact).count() == int(n)
        listed = client.get(href.replace("&amp;", "&")).context["page_rows"]
        assert len(listed) == int(n)
    total = sum(int(n) for *_, n in cells)
    assert total == Risk.objects.count()


def test_a_likelihood_outside_1_to_5_is_refused_beside_its_field(client, evaluator):
    client.force_login(evaluator)
    data = {"code": "R1", "title": "t", "description": "d", "owner": "o", "inherent_likelihood": 6,
            "inherent_impact": 3, "residual_likelihood": 1, "residual_impact": 1, "treatment": "mitigate",
            "status": "open", "confidence": "low", "source_mark": "verified"}  # fmt: skip
    response = client.post(reverse("risks:create"), data)
    assert response.status_code == 200
    assert "Select a valid choice" in " ".join(response.context["form"].errors["inherent_likelihood"])
    assert not Risk.objects.exists()
    data["inherent_likelihood"] = 5
    response = client.post(reverse("risks:create"), data)
    assert response.status_code == 302
    assert Risk.objects.get().history.get().history_user == evaluator


def test_the_heat_map_explains_its_colours_and_counts(client, viewer, demo):
    client.force_login(viewer)
    page = client.get(reverse("risks:list")).content.decode()
    legend = ("colour: likelihood × impact · number: risks", "15–25 high", "8–14", "4–7", "1–3 low", 'class="count"')
    for text in legend:
        assert text in page, text


def test_a_heat_map_cell_keeps_the_lists_other_filters(client, viewer, demo):
    """Filtered to one category, a cell's count is that category's risks, and its link opens those risks
    (not every risk at that likelihood and impact); a page number is not carried over."""
    client.force_login(viewer)
    category = Risk.objects.values_list("category", flat=True).first()
    html = client.get(reverse("risks:list"), {"category": category, "page": "2"}).content.decode()
    cells = re.findall(r'href="([^"]*)" aria-label="(\d+) risk', html)
    assert cells
    for href, n in cells:
        href = href.replace("&amp;", "&")
        assert f"category={category}" in href and "page=" not in href
        assert len(client.get(href).context["page_rows"]) == int(n)
