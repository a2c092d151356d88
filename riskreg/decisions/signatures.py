"""Whether each sign-off carries its signer's own signature, for `verify_audit` (issue 27).

A sign-off written by code holding only the app's database role has no valid signature by the signer's
key (accounts/signer_keys.py): it is named, and fails the check where the gate would not count it. A
sign-off made with a key enrolled after its decision went to review is named too: enrolling a new key for
someone is the one way left to sign in their name without their password, and it is in the trail.
"""

import datetime

from django.conf import settings

from .gate import counts_without_doubt
from .models import SignOff


def check_signatures(limit: int = 50) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    submitted: dict[int, datetime.datetime | None] = {}
    sign_offs = SignOff.objects.select_related("decision", "signer", "title", "signer_key").order_by("id")
    for sign_off in sign_offs.iterator(chunk_size=500):
        label = f"sign-off {sign_off.pk} on {sign_off.decision} for {sign_off.title} by {sign_off.signer}"
        if not sign_off.is_signed_by_signer:
            if settings.SIGN_OFFS_NEED_SIGNATURE and not counts_without_doubt(sign_off):
                if len(problems) < limit:
                    problems.append(f"{label}: no valid signature by the signer's own key, so it does not count")
            elif len(notes) < limit:
                notes.append(f"{label}: no signature by the signer's own key (counted: made before keys were "
                             "required, or SIGN_OFFS_NEED_SIGNATURE is off)")  # fmt: skip
            continue
        decision_id = sign_off.decision_id
        if decision_id not in submitted:
            first = (sign_off.decision.history.filter(status="in_review").order_by("history_id")
                     .values_list("history_date", flat=True).first())  # fmt: skip
            submitted[decision_id] = first
        went_to_review, key = submitted[decision_id], sign_off.signer_key
        assert key is not None  # is_signed_by_signer
        if went_to_review is not None and key.enrolled_at > went_to_review and len(notes) < limit:
            notes.append(f"{label}: signed with a key enrolled {key.enrolled_at:%Y-%m-%d %H:%M} UTC, "
                         "after the decision went to review — check that its holder set that password")  # fmt: skip
    return problems, notes
