"""Create a user, or change one, with their role and governance titles: without the admin.

    manage.py set_user rosa --role approver --title "Responsible Scaling Officer" --email rosa@lab.example
    manage.py set_user rosa --remove-title "Responsible Scaling Officer"
    manage.py changepassword rosa        # a new user has no usable password until this is run

Every change is one transaction, with history and an audit event; a bad role or title changes nothing,
nor does a new name that the field's rules refuse (riskreg/accounts/usernames.py: no control characters,
no look-alike of an existing user).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from riskreg.accounts.roles import ROLE_PERMISSIONS
from riskreg.frameworks.models import GovernanceTitle

REASON = "set by manage.py set_user"


class Command(BaseCommand):
    help = "Create or change a user: role (viewer, evaluator, approver, auditor), governance titles, mail, name."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", action="append", default=[], choices=sorted(ROLE_PERMISSIONS),
                            help="A role to give (repeat for several). Roles not named are kept unless --only-roles.")
        parser.add_argument("--only-roles", action="store_true", help="Remove the roles not named by --role.")
        parser.add_argument("--title", action="append", default=[], help="A governance title to hold (exact name).")
        parser.add_argument("--remove-title", action="append", default=[], help="A governance title to give up.")
        parser.add_argument("--email", help="Where mail about their tasks goes.")
        parser.add_argument("--first-name")
        parser.add_argument("--last-name")
        parser.add_argument("--deactivate", action="store_true", help="Log-ins refused from now on (kept for the "
                                                                      "record: users are never deleted).")  # fmt: skip

    def handle(self, *args, **options):
        username = options["username"].strip()
        if not username or len(username) > 150 or "\x00" in username:
            raise CommandError("Give a user name of 1 to 150 characters.")
        titles = self._titles(options["title"])
        dropped = self._titles(options["remove_title"])
        if options["email"] is not None:
            try:
                validate_email(options["email"])
            except ValidationError:
                raise CommandError(f"“{options['email']}” is not a mail address.") from None
        User = get_user_model()
        if not User.objects.filter(username=username).exists():  # a new user: the name must be one (usernames.py)
            try:
                User._meta.get_field("username").clean(username, None)
            except ValidationError as refused:
                raise CommandError(" ".join(refused.messages)) from None
        with transaction.atomic():
            user = User.objects.select_for_update().filter(username=username).first()
            created = user is None
            if created:
                user = User(username=username)
                user.set_unusable_password()
            for field in ("email", "first_name", "last_name"):
                if options[field] is not None:
                    setattr(user, field, options[field])
            if options["deactivate"]:
                user.is_active = False
            user._change_reason = REASON
            user.save()
            roles = Group.objects.filter(name__in=options["role"])
            if options["only_roles"]:
                user.groups.set(roles)
            elif roles:
                user.groups.add(*roles)
            for title in titles:
                if not title.holders.filter(pk=user.pk).exists():
                    title._change_reason = REASON
                    title.holders.add(user)
            for title in dropped:
                if title.holders.filter(pk=user.pk).exists():
                    title._change_reason = REASON
                    title.holders.remove(user)
        user.refresh_from_db()
        held = ", ".join(str(t) for t in GovernanceTitle.objects.filter(holders=user).order_by("name")) or "none"
        groups = ", ".join(user.groups.order_by("name").values_list("name", flat=True)) or "none"
        self.stdout.write(f"{'Created' if created else 'Changed'} {username}: roles {groups}; titles {held}; "
                          f"mail {user.email or 'none'}{'; inactive' if not user.is_active else ''}.")  # fmt: skip
        if created:
            self.stdout.write(f"Set a password with: manage.py changepassword {username}")

    @staticmethod
    def _titles(names):
        found = []
        for name in names:
            title = GovernanceTitle.objects.filter(name=name).first()
            if title is None:
                known = ", ".join(GovernanceTitle.objects.order_by("name").values_list("name", flat=True)) or "none yet"
                raise CommandError(f"No governance title “{name}”. Known titles: {known}.")
            found.append(title)
        return found
