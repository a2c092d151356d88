"""Whether each sign-off carries its signer's own signature, for `verify_audit` (issue 27).

A sign-off without a valid signature by its signer's key (accounts/signer_keys.py) — written by code
holding only the app's role — is a problem where the gate would not count it. A sign-off made with a key
enrolled after its decision was written is named for a person to look at: enrolling a key for someone
(through the app's code, or by setting their password hash with SQL and signing on the page) is the way
left to sign in their name without their password. The order is the audit chain's own (event numbers,
given under its lock), never a stored time, which whoever writes the row may set.
"""

from django.conf import settings

from riskreg.accounts.signer_keys import SignerKey
from riskreg.audit.models import AuditEvent

from .gate import counts_without_doubt, mark_made_before_keys
from .models import ReleaseDecision, SignOff


def _created_events(model, ids) -> dict[str, AuditEvent]:
    events = AuditEvent.objects.filter(model=model._meta.label, action="+", object_id__in=[str(i) for i in ids])
    return {event.object_id: event for event in events.only("seq", "object_id", "username", "at")}


def check_signatures(limit: int = 50) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    sign_offs = list(SignOff.objects.select_related("decision", "signer", "title", "signer_key").order_by("id"))
    mark_made_before_keys(sign_offs)
    signed = [s for s in sign_offs if s.is_signed_by_signer]
    keys = _created_events(SignerKey, {s.signer_key_id for s in signed})
    decisions = _created_events(ReleaseDecision, {s.decision_id for s in signed})
    for sign_off in sign_offs:
        label = f"sign-off {sign_off.pk} on {sign_off.decision} for {sign_off.title} by {sign_off.signer}"
        if not sign_off.is_signed_by_signer:
            if settings.SIGN_OFFS_NEED_SIGNATURE and not counts_without_doubt(sign_off):
                problems.append(f"{label}: no valid signature by the signer's own key, so it does not count")
            else:
                notes.append(f"{label}: no signature by the signer's own key (counted: written before keys were "
                             "required, or SIGN_OFFS_NEED_SIGNATURE is off)")  # fmt: skip
            continue
        key, decision = keys.get(str(sign_off.signer_key_id)), decisions.get(str(sign_off.decision_id))
        if key is None:
            problems.append(f"{label}: its signing key has no enrolment in the trail")
        elif decision is not None and key.seq > decision.seq:
            notes.append(f"{label}: signed with a key enrolled after the decision was written (event {key.seq}, "
                         f"by {key.username or 'nobody named'}, {key.at:%Y-%m-%d %H:%M} UTC): ask its holder "
                         "whether they set that password")  # fmt: skip
    return problems[:limit], notes[:limit]
