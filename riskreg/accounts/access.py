"""Access control in one place: every page needs login; what a role may do is a Django permission.

Views declare the permission they need (DESIGN.md §1 maps roles to permissions in roles.py);
this mixin answers an anonymous visitor with the login page and a logged-in user without the
permission with 403 — never by hiding a button alone.
"""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    def get_permission_denied_message(self):
        from django.contrib.auth.models import Permission

        needed = []
        for perm in self.get_permission_required():
            app, _, codename = perm.partition(".")
            found = Permission.objects.filter(content_type__app_label=app, codename=codename).first()
            needed.append(f"“{found.name.lower()}”" if found else perm)
        return f"This page needs the permission {' and '.join(needed)}, which your roles do not give."

    # A logged-in user without the permission gets 403, not a redirect to the log-in page they already passed:
    # Django's AccessMixin.handle_no_permission does that itself (tests/test_permissions.py shows it).
