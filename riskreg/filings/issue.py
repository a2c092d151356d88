"""Issuing a report: a numbered, never-changing version with its changelog, and (for a transparency
report) the published copy with what was withheld and why."""

import copy

from django.db import transaction

from riskreg.decisions.models import DecisionStatus, ReleaseDecision

from . import model_report, transparency
from .models import Filing, FilingKind
from .redaction import redact, sha256_of


class IssueError(ValueError):
    pass


def preview(decision, kind: str, inputs=None, by=None) -> dict:
    if kind == FilingKind.MODEL_REPORT:
        try:
            return model_report.build(decision)
        except ValueError as refused:
            raise IssueError(str(refused)) from None
    if kind == FilingKind.TRANSPARENCY_REPORT:
        if decision.status not in model_report.REPORTABLE:
            raise IssueError("A transparency report is made from a decision in review or approved.")
        return transparency.build(decision, inputs, given_by=_name(by))
    raise IssueError(f"Unknown report kind {kind!r}.")


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def changes(old: dict, new: dict) -> list[str]:
    """What differs between two versions of a report, item by item, in words."""
    def entries(document):
        found = {}
        for section in document.get("sections", []):
            for item in section.get("items", []):
                found[f"{section['key']} {item['label']}"] = item.get("value", item.get("lines"))
            for gap in section.get("gaps", []):
                found[f"{section['key']} gap: {gap}"] = True
        for field in document.get("fields", {}).values():
            found[field["title"]] = field.get("lines", field.get("value"))
        return found

    before, after = entries(old), entries(new)
    words = [f"added: {label}" for label in after if label not in before]
    words += [f"removed: {label}" for label in before if label not in after]
    words += [f"changed: {label}" for label in after if label in before and before[label] != after[label]]
    return words


def issue(decision, kind: str, by, changelog: str = "", interim: bool = False, inputs=None,
          withheld: dict | None = None) -> Filing:
    """Issue the next version of `kind` for `decision`, as `by`. Raises IssueError with the reason."""
    withheld = {key: reason for key, reason in (withheld or {}).items() if key}
    if withheld and kind != FilingKind.TRANSPARENCY_REPORT:
        raise IssueError("Only a transparency report is published with redactions.")
    with transaction.atomic():
        decision = ReleaseDecision.objects.select_for_update().get(pk=decision.pk)  # one version number at a time
        content = preview(decision, kind, inputs, by)
        previous = Filing.objects.filter(decision=decision, kind=kind).order_by("-version").first()
        version = previous.version + 1 if previous else 1
        if previous is not None and not changelog.strip():
            raise IssueError(f"Say what changed since version {previous.version}, and why (the changelog).")
        content["version"] = version
        if previous is not None:
            content["changes_since_previous"] = changes(previous.content, content)
        interim = interim or decision.status == DecisionStatus.IN_REVIEW
        content["status"] = "interim" if interim else "full"
        if kind == FilingKind.TRANSPARENCY_REPORT:
            try:
                unredacted, published = redact(content, withheld)
            except ValueError as error:
                raise IssueError(str(error)) from None
        else:
            unredacted = content
            published = {**copy.deepcopy(content), "withheld": [], "unredacted_sha256": sha256_of(content)}
        filing = Filing(decision=decision, kind=kind, version=version, interim=interim,
                        changelog=changelog.strip() or "First version.", inputs=dict(inputs or {}),
                        content=unredacted, content_sha256=sha256_of(unredacted), published=published,
                        published_sha256=sha256_of(published), issued_by=by)  # fmt: skip
        filing.full_clean(validate_unique=False, validate_constraints=False)
        filing._history_user = by
        filing._change_reason = f"issued version {version}{' (interim)' if interim else ''}"
        filing.save()
        return filing
