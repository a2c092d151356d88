"""The HTML form of riskreg.provenance: `{% load provenance %}` on every page, report and record.

    {% provenance record %}           where a record comes from: §section · how sure, or its origin
    {% provenance record "long" %}    the same in the report's words (Provenance.text), with the note
    {% provenance record "details" %} only the note and riskreg's readings (the short form is drawn beside)
    {% reading record "confidence" %} a marker after a value that is riskreg's reading, else nothing

Each takes a record, a riskreg.provenance.Provenance, or the JSON shape a report holds
(Provenance.as_json()), so a page, a report and its PDF draw one thing one way.
"""

from django import template
from django.utils.html import format_html

from riskreg import provenance as p

register = template.Library()


def _provenance(value) -> p.Provenance | None:
    if value is None or value == "":
        return None
    if isinstance(value, p.Provenance):
        return value
    if isinstance(value, dict):
        return p.Provenance(origin=value["origin"], mark=value.get("mark") or "", section=value.get("section") or "",
                            note=value.get("note") or "", readings=tuple(value.get("riskreg_readings") or ()))
    return p.of(value)


@register.simple_tag
def provenance(value, form: str = "short"):
    prov = _provenance(value)
    if prov is None:
        return ""
    words = prov.text if form == "long" else prov.short
    css = f"prov prov-{prov.origin}" + (f" mark-{prov.mark}" if prov.mark else "")
    if form in ("long", "details"):
        readings = format_html(' <span class="reading" title="{}">{}</span>', p.READING_TITLE,
                               prov.readings_text) if prov.readings else ""
        note = format_html(' <small class="prov-note">{}</small>', prov.note) if prov.note else ""
        if form == "details":  # beside a short form drawn elsewhere (a report item's term): what it leaves out
            return format_html("{}{}", readings, note)
        return format_html('<span class="{}">{}</span>{}{}', css, words, readings, note)
    if prov.note:
        return format_html('<span class="{}" title="{}">{}</span>', css, prov.note, words)
    return format_html('<span class="{}">{}</span>', css, words)


@register.simple_tag
def reading(value, name: str):
    prov = _provenance(value)
    if prov is None or not prov.reads(name):
        return ""
    return format_html('<span class="reading" title="{}">{}</span>', p.READING_TITLE, p.READING)


@register.filter
def provenance_of(value):
    """The Provenance itself, for a template's `{% if %}` (e.g. `(record|provenance_of).is_illustration`)."""
    return _provenance(value)


@register.simple_tag
def provenance_notice(value):
    """A record page's notice under its title when a reader must not take it as the source's plain fact:
    an illustration, or a fact from a secondary source, not verifiable, or inferred."""
    prov = _provenance(value)
    if prov is None or not prov.flagged:
        return ""
    return format_html('<p class="notice prov-notice prov-{}"><strong>{}.</strong> {}</p>', prov.origin,
                       prov.mark_label, prov.note or prov.text)


@register.simple_tag
def provenance_flag(value):
    """A badge beside a record's title when its mark must not be missed (an illustration, a secondary source,
    an inference, what cannot be verified): on its page's heading, as on the first line of a printed record."""
    prov = _provenance(value)
    if prov is None or not prov.flagged:
        return ""
    css = f"badge prov prov-{prov.origin} mark-{prov.mark}"
    return format_html('<span class="{}" title="{}">{}</span>', css, prov.note or prov.text, prov.mark_label)
