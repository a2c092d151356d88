"""Every output of the demo says where each fact comes from (issue 28).

This walks what riskreg generates from the demo — each page type, each list's CSV, the model and
transparency reports as HTML, JSON and PDF, the decision record as HTML and PDF, the gate's API —
and reads each as a reader would: in units (a table row, a list item, a term with its description, a
paragraph; a CSV row; a JSON object; a stretch of the PDF's text). It fails where

- an illustration, or a fact from a secondary source, an inference or what cannot be verified, is named
  in a unit that does not carry its mark;
- a value that is riskreg's reading (a recorded evaluation's confidence, a recorded risk's scores)
  is shown in a unit that does not say so;
- a determination's verdict is shown in other words than its threshold's own (TM1: "Applicable").

A record's history (what changed, in the audit trail's words) names records without stating their
facts, and is not read here.

The checks read the records themselves (their mark, confidence, verdict and threshold), not
riskreg.provenance, so that they hold the outputs to the data rather than to the code that draws them.
"""

import csv
import io
import json
import re
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from riskreg.decisions.models import Determination, ReleaseDecision
from riskreg.evaluations.models import AIModel, Evaluation
from riskreg.filings.models import Incident
from riskreg.frameworks.models import Threshold
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db

# A mark's words, as a reader must see them beside the fact.
MARKERS = {"secondary": "Secondary source only", "unverified": "Not verifiable", "inferred": "Inference",
           "illustration": "Illustration"}  # fmt: skip
READING = "riskreg's reading"


# ---- Reading an output in units ---------------------------------------------------------------------------

VOID = {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr", "area", "base", "embed", "track"}
# A table row is one unit (its cells are read together); an SVG picture's <title> is a tooltip's unit.
BLOCKS = {"tr", "li", "dd", "dt", "p", "h1", "h2", "h3", "h4", "article", "caption", "title", "figcaption", "option",
          "label", "legend", "summary"}  # fmt: skip


@dataclass
class Node:
    tag: str
    children: list = field(default_factory=list)  # Nodes and strings
    history: bool = False  # a history of changes (class "history" or "record-history"): not read

    def text(self) -> str:
        return " ".join(" ".join(c.split()) if isinstance(c, str) else c.text() for c in self.children).strip()


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("root")
        self.stack = [self.root]
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):  # the page's <head> (its <title>) is not the page's text
            self.skip += 1
            return
        classes = (dict(attrs).get("class") or "").split()
        node = Node(tag, history="history" in classes or "record-history" in classes)
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip -= 1
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.stack[-1].children.append(data)


def html_units(html: str) -> list[str]:
    """The page's units: each block element's text, a <dt> joined with its <dd> (a term and what it says)."""
    parser = Tree()
    parser.feed(html)
    units = []

    def walk(node: Node):
        kids = [c for c in node.children if isinstance(c, Node) and not c.history]
        for i, child in enumerate(kids):
            if child.tag == "dt":
                after = kids[i + 1] if i + 1 < len(kids) and kids[i + 1].tag == "dd" else None
                units.append(child.text() + " " + (after.text() if after else ""))
            elif child.tag == "dd" and i and kids[i - 1].tag == "dt":
                pass  # with its term
            elif child.tag in BLOCKS:
                units.append(child.text())
            walk(child)

    walk(parser.root)
    return [u for u in units if u]


def csv_units(body: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(body)))
    header = rows[0]
    # A row as "column: value" pairs of its filled cells, so a reading column says what it is where it says anything.
    return [" | ".join(f"{name}: {value}" for name, value in zip(header, row, strict=True) if value)
            for row in rows[1:]]


def json_units(document) -> list[str]:
    """Each object's own JSON (a report item, a line, a field): the smallest objects come first."""
    units = []

    def walk(value):
        if isinstance(value, dict):
            for inner in value.values():
                walk(inner)
            units.append(json.dumps(value, ensure_ascii=False))
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(document)
    return units


@dataclass
class Stretch:
    """A unit of a PDF's text: a record is named in its first two lines (`head`: a title may wrap), a value it
    shows is looked for in the first four (`near`), and what is said beside them in six (`body`: a marker after a
    value at the end of the fourth line may wrap onto the next)."""

    head: str
    near: str
    body: str

    def __contains__(self, text: str) -> bool:
        return text in self.body

    def __str__(self) -> str:
        return self.body


def pdf_units(document: bytes, tmp_path) -> list:
    """The PDF's lines in drawing order (pdftotext -raw), as overlapping stretches; the decision record's
    history of changes is left out, as on the page."""
    path = tmp_path / "out.pdf"
    path.write_bytes(document)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    text = re.sub(r"History of the decision and its parts.*?Printed ", "", text, flags=re.S)
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return [Stretch(*(" ".join(lines[i : i + n]) for n in (2, 4, 6))) for i in range(len(lines))]


# ---- What must hold -------------------------------------------------------------------------------------


@dataclass
class Rule:
    what: str
    needles: list[str]  # any of them names the record in a unit
    marker: str  # what such a unit must also say
    when: re.Pattern | None = None  # only units that also show this (e.g. a confidence)
    shadows: list[str] = field(default_factory=list)  # other records' names that contain a needle
    forbidden: str = ""  # instead of a marker: words such a unit must not use (an outcome's generic words)
    after: bool = False  # `when` counts only after the record's name (its own value, not a neighbour's)

    def shows(self, unit) -> bool:
        if self.when is None:
            return True
        text = unit.near if isinstance(unit, Stretch) else str(unit)
        if not self.after:
            return self.when.search(text) is not None
        starts = [text.find(n) for n in self.needles if n in text]
        return bool(starts) and self.when.search(text, min(starts)) is not None

    def names(self, unit) -> bool:
        unit = unit.head if isinstance(unit, Stretch) else unit
        for shadow in self.shadows:
            unit = unit.replace(shadow, "")
        return any(needle in unit for needle in self.needles)

    def says(self, unit) -> bool:
        unit = str(unit)
        if self.forbidden:
            return self.forbidden.lower() not in unit.lower() or self.marker.lower() in unit.lower()
        if self.marker in unit:
            return True
        # A JSON object says it in its shape: a non-empty list of riskreg's readings.
        return self.marker == READING and re.search(r'"riskreg_readings": \["', unit) is not None


def rules() -> list[Rule]:
    found = []
    for model, name in ((Evaluation, "title"), (Risk, "title"), (Incident, "title"), (ReleaseDecision, "title")):
        for record in model.objects.filter(source_mark__in=MARKERS):
            found.append(Rule(f"{model.__name__} {record.pk} ({record.source_mark})", [getattr(record, name)],
                              MARKERS[record.source_mark]))  # fmt: skip
    shows_confidence = re.compile(r"confidence\W+(low|moderate|high)\b", re.I)
    for evaluation in Evaluation.objects.exclude(source_section="").exclude(confidence="not_stated").exclude(
            source_mark__in=["illustration", "imported"]):  # fmt: skip
        found.append(Rule(f"confidence of evaluation {evaluation.pk}", [evaluation.title], READING, shows_confidence,
                          after=True))  # fmt: skip
    shows_scores = re.compile(r"\d\s*×\s*(impact\s*)?\d", re.I)
    for risk in Risk.objects.exclude(source_section="").exclude(source_mark__in=["illustration", "imported"]):
        found.append(Rule(f"scores of risk {risk.code}", [f"{risk.code} {risk.title}", risk.title], READING,
                          shows_scores))  # fmt: skip
    for evaluation in Evaluation.objects.select_related("threshold").exclude(threshold=None):
        own = evaluation.threshold.verdict_term({"below_threshold": "not_crossed"}.get(evaluation.outcome,
                                                                                      evaluation.outcome))
        if own:  # TM1's "crossed" is "Applicable": the generic "Threshold crossed" must not be shown for it
            generic = evaluation.get_outcome_display()
            found.append(Rule(f"outcome of evaluation {evaluation.pk} in other words than “{own}”", [evaluation.title],
                              own, forbidden=generic))  # fmt: skip
    titles = [t for model in (Evaluation, Risk, Incident, ReleaseDecision) for t in model.objects.values_list(
        "title", flat=True)]  # fmt: skip
    for rule in found:
        rule.shadows = [t for t in titles if t not in rule.needles and any(n in t for n in rule.needles)]
    return found


def verdict_rules() -> list[tuple[str, str, str]]:
    """(category name, the threshold's word, the generic word it must not be shown in) for each determination whose
    threshold has its own word for its verdict."""
    found = set()
    for d in Determination.objects.select_related("threshold", "category").exclude(threshold=None):
        own = d.threshold.verdict_term(d.verdict)
        if own and own.lower() != d.get_verdict_display().lower():
            found.add((d.category.name, own, d.get_verdict_display()))
    return sorted(found)


def problems_in(name: str, units: list[str], all_rules: list[Rule], verdicts) -> list[str]:
    out = []
    for rule in all_rules:
        for unit in units:
            if not rule.names(unit):
                continue
            if not rule.shows(unit):
                continue
            if not rule.says(unit):
                what = f"“{rule.forbidden}” instead" if rule.forbidden else f"without “{rule.marker}”"
                out.append(f"{name}: {rule.what} shown {what}: {str(unit)[:300]}")
                break
    for category, own, generic in verdicts:
        word = re.compile(rf"\b{re.escape(generic)}\b", re.I)
        for unit in map(str, units):
            if category in unit and re.search(r"confidence", unit, re.I) and len(unit) < 3000:
                if word.search(unit) and own.lower() not in unit.lower():
                    out.append(f"{name}: the {category} verdict shown as “{generic}”, not “{own}”: {unit[:300]}")
                    break
    return out


# ---- The outputs of the demo ----------------------------------------------------------------------------


def test_every_output_says_where_each_fact_comes_from(demo, client, viewer, evaluator, tmp_path):
    from tests.decisions.test_record import need

    need("pdftotext")
    outputs: list[tuple[str, list[str]]] = []

    def page(url, **params):
        response = client.get(url, params)
        assert response.status_code == 200, url
        return response

    def html(url, **params):
        outputs.append((url + (f"?{params}" if params else ""), html_units(page(url, **params).content.decode())))

    # Data a user enters holds to the same: an evaluation typed in through its form, from a secondary source, with a
    # confidence the source does not state and an outcome on TM1 (whose words are RSP v3.0's); and a decision
    # decided here on a secondary source.
    d8 = ReleaseDecision.objects.get(reference="D8")
    tm1 = Threshold.objects.get(framework_version=d8.framework_version, code="TM1")
    client.force_login(evaluator)
    response = client.post(reverse("evaluations:create"), {
        "snapshot": d8.snapshot_id, "category": tm1.category_id, "threshold": tm1.pk,
        "title": "Entered by hand from a press summary", "kind": "automated_benchmark", "run_by": "A lab",
        "finding": "Scored well, as a newspaper reports it.", "outcome": "crossed", "confidence": "high",
        "source_section": "press summary §2", "source_mark": "secondary", "source_note": "Not in the card.",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Evaluation.objects.filter(title="Entered by hand from a press summary", source_mark="secondary").exists()
    response = client.post(reverse("decisions:create"), {
        "snapshot": d8.snapshot_id, "framework_version": d8.framework_version_id, "reference": "PRESS-1",
        "title": "Entered by hand: a release a newspaper reports", "scope": "no_deployment",
        "rationale": "As the newspaper reports it.", "source_section": "press §3", "source_mark": "secondary",
        "source_note": "From a press report, not the card.",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    html(reverse("my-work"))  # the evaluator's tasks name their draft
    client.force_login(viewer)
    all_rules, verdicts = rules(), verdict_rules()
    assert any(r.marker == "Secondary source only" for r in all_rules), "the demo has a secondary-source item"
    assert any(r.marker == "Illustration" for r in all_rules) and any(r.marker == READING for r in all_rules)
    assert verdicts, "the demo has a verdict in its threshold's own words (TM1: Applicable)"

    model = AIModel.objects.get()
    for url in (reverse("home"), reverse("evaluations:list"), reverse("risks:list"), reverse("decisions:list"),
                reverse("filings:incidents") + "?show=all", model.get_absolute_url()):  # fmt: skip
        html(url)
    for record in [*Evaluation.objects.all(), *Risk.objects.all(), *Incident.objects.all()]:
        html(record.get_absolute_url())
    for name in ("evaluations", "risks", "decisions"):
        body = b"".join(page(reverse(f"{name}:list"), export="csv").streaming_content).decode()
        outputs.append((f"{name}.csv", csv_units(body)))
    token = _token(viewer)
    pdfs_for = {"D8", "ILLUS-1"}  # the PDFs are slow to draw: the two decisions whose reports hold every kind of mark
    for decision in ReleaseDecision.objects.all():
        html(decision.get_absolute_url())
        html(reverse("decisions:record", args=[decision.pk]))
        gate = json.loads(client.get(reverse("decisions:api-gate", args=[decision.pk]), **token).content)
        outputs.append((f"gate API {decision.reference}", json_units(gate)))
        if decision.status == "draft":
            continue
        for kind in ("model-report", "transparency"):
            url = reverse(f"filings:{kind}", args=[decision.pk])
            html(url)
            outputs.append((f"{url}?format=json", json_units(json.loads(page(url, format="json").content))))
        if decision.reference in pdfs_for:
            url = reverse("filings:model-report", args=[decision.pk])
            outputs.append((f"{url}?format=pdf", pdf_units(page(url, format="pdf").content, tmp_path)))
            url = reverse("decisions:record-pdf", args=[decision.pk])
            outputs.append((url, pdf_units(page(url).content, tmp_path)))

    found = [problem for name, units in outputs for problem in problems_in(name, units, all_rules, verdicts)]
    verdicts_found = [problem for problem in found if " verdict shown as " in problem]
    assert not found, (f"{len(found)} output(s) without provenance ({len(verdicts_found)} of them a verdict in "
                       "other words):\n" + "\n".join(found[:30] + verdicts_found[:10]))  # fmt: skip
    # The walk reached the items it is about: each secondary or illustrative record appears somewhere.
    for rule in all_rules:
        assert any(rule.names(u) for _, units in outputs for u in units), rule.what


def _token(user) -> dict:
    from riskreg.accounts.models import ApiToken

    _, raw = ApiToken.issue(user, "provenance walk")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_walk_catches_an_unmarked_secondary_item_and_a_verdict_in_other_words():
    """The checks themselves: a unit without the mark, and a verdict in the generic words, are found."""
    rule = Rule("E52", ["Risk update item"], MARKERS["secondary"])
    assert problems_in("page", ["Risk update item — not assessed"], [rule], [])
    assert not problems_in("page", ["Risk update item — §5.4.4 · Secondary source only"], [rule], [])
    verdicts = [("Misalignment", "Applicable", "Crossed")]
    assert problems_in("report", ["Determination — Misalignment Crossed; confidence not stated"], [], verdicts)
    assert not problems_in("report", ["Determination — Misalignment Applicable; confidence not stated"], [], verdicts)
    units = html_units("<dl><dt>Outcome</dt><dd>Below <span>threshold</span></dd></dl><table><tr><td>a</td></tr>"
                       "</table>")  # fmt: skip
    assert "Outcome Below threshold" in units and "a" in units
