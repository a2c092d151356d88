"""Checks of the record that `verify_audit` runs after the chain's own, contributed by the apps that know
the rule (the audit app knows no domain): each returns (problems, notes). A problem fails the command; a
note is printed for the auditor to read."""

from collections.abc import Callable

Check = Callable[[], tuple[list[str], list[str]]]
CHECKS: list[Check] = []


def register(check: Check) -> Check:
    if check not in CHECKS:
        CHECKS.append(check)
    return check
