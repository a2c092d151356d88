"""Redaction with a commitment: the published copy withholds items, yet can later be shown to match.

Each withheld item is replaced by {"withheld": reason, "sha256": SHA-256(salt ‖ canonical JSON of the
value)}; the salts stay in the unredacted copy only (a short value such as "yes" cannot be guessed from
its hash). The published copy also carries the SHA-256 of the whole unredacted copy. Whoever later sees
the unredacted copy recomputes both and finds them equal: `python3 riskreg/audit/verify.py redaction
PUBLISHED UNREDACTED` does exactly that, offline.
"""

import copy
import hashlib
import secrets

from riskreg.audit.verify import canonical_json, check_redaction


def sha256_of(document: object) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def item_hash(salt: str, value: object) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + canonical_json(value)).hexdigest()


def redact(content: dict, withheld: dict[str, str], salts: dict[str, str] | None = None) -> tuple[dict, dict]:
    """(unredacted, published) from the report's `content` ({"fields": {key: {"title", "value"}}}) and
    `withheld` (field key → reason). The unredacted copy gains the salts; the published copy the hashes."""
    unredacted = copy.deepcopy(content)
    published = copy.deepcopy(content)
    salts = dict(salts or {})
    unknown = sorted(set(withheld) - set(content["fields"]))
    if unknown:
        raise ValueError(f"Nothing to withhold under {', '.join(unknown)}: not a field of this report.")
    for key, reason in withheld.items():
        if not reason.strip():
            raise ValueError(f"Say why “{content['fields'][key]['title']}” is withheld.")
        salt = salts.setdefault(key, secrets.token_hex(16))
        field = published["fields"][key]
        value = field.pop("lines", None) or field.get("value")
        field["value"] = {"withheld": reason.strip(), "sha256": item_hash(salt, value)}
    unredacted["salts"] = salts
    published["withheld"] = [{"field": key, "title": content["fields"][key]["title"], "reason": reason.strip()}
                             for key, reason in withheld.items()]  # fmt: skip
    published["unredacted_sha256"] = sha256_of(unredacted)
    return unredacted, published


def verify(unredacted: dict, published: dict) -> list[str]:
    """What does not correspond between an unredacted copy and a published one (empty: they match): the
    check of riskreg/audit/verify.py, which an outsider runs on the two files."""
    return check_redaction(unredacted, published)
