"""Access control in one place: every page needs login; what a role may do is a Django permission.

Views declare the permission they need (DESIGN.md §1 maps roles to permissions in roles.py);
this mixin answers an anonymous visitor with the login page and a logged-in user without the
permission with 403 — never by hiding a button alone.
"""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    def handle_no_permission(self):
        # Logged in but not allowed: 403, not a redirect back to a login page they already passed.
        self.raise_exception = self.request.user.is_authenticated
        return super().handle_no_permission()
