"""The one rule for a user name, wherever a user is named: the admin's forms, createsuperuser, set_user.

A name must be one the log-in can reach and nobody can mistake for another account's:

- no control or invisible (format) character: Django's own rule for the field (letters, digits and
  @ . + - _) says so too, but set_user never ran it, and its message does not name the character;
- written in its plain (NFKC) form: the log-in form reads "ｖｉｅｗｅｒ" as "viewer", so an account
  named "ｖｉｅｗｅｒ" could never log in, and would pass for viewer in every list;
- not the same as another account's name once case and look-alike characters are set aside
  (NFKC, then Unicode case folding): "Viewer", "VIEWER" and "ｖｉｅｗｅｒ" when viewer exists;
  "Straße" when strasse does.

`install()` (AccountsConfig.ready) adds it to the username field's validators, so every form and
command that cleans the field runs it; set_user cleans the field too. A name that exists exactly is
left alone (it names that account, unchanged; creating it twice is refused by the field's uniqueness).
"""

import unicodedata
from typing import cast

from django.core.exceptions import ValidationError
from django.db.models import Field


def plain(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def key(name: str) -> str:
    """What two names that read the same share: NFKC, case folded, NFKC again (Unicode's NFKC_Casefold, near enough)."""
    return plain(plain(name).casefold())


def _shown(name: str) -> str:
    return name.encode("unicode_escape").decode("ascii") if any(_invisible(c) for c in name) else name


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def validate_username(value: str) -> None:
    from django.contrib.auth import get_user_model

    hidden = [char for char in value if _invisible(char)]
    if hidden:
        raise ValidationError(
            "“%(name)s” holds a control or invisible character (%(chars)s): a user name is letters, digits "
            "and @ . + - _ only.",
            code="username_control_character",
            params={"name": _shown(value), "chars": ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden))},
        )
    if plain(value) != value:
        raise ValidationError(
            "“%(name)s” is written with look-alike (compatibility) characters, which the log-in reads as "
            "“%(plain)s”: write it so.",
            code="username_not_plain",
            params={"name": value, "plain": plain(value)},
        )
    User = get_user_model()
    manager = User._default_manager
    if manager.filter(**{User.USERNAME_FIELD: value}).exists():
        return
    wanted = key(value)
    for existing in manager.values_list(User.USERNAME_FIELD, flat=True).iterator():
        if key(existing) == wanted:
            raise ValidationError(
                "“%(name)s” is too like the existing user “%(existing)s” (the same once case and look-alike "
                "characters are set aside): choose another name.",
                code="username_look_alike",
                params={"name": value, "existing": existing},
            )


def install() -> None:
    """Add the rule to the username field's validators (not to its definition: no migration of auth)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    field = cast(Field, User._meta.get_field(User.USERNAME_FIELD))
    if validate_username not in field.validators:
        field.validators.append(validate_username)
