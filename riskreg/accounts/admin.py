from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User

from riskreg.lib.admin import ReadOnlyAdmin, RegistryAdmin

from .models import ApiToken, SignerKey


@admin.register(ApiToken)
class ApiTokenAdmin(RegistryAdmin):
    """Tokens are made and revoked by their owners on their settings page; only a hash is stored, and
    the admin shows neither it nor the secret's prefix: a token's id and name are all anyone reads."""

    list_display = ["id", "name", "user", "created_at", "revoked_at"]
    fields = readonly_fields = ["user", "name", "created_at", "revoked_at"]

    def has_add_permission(self, request):
        return False


@admin.register(SignerKey)
class SignerKeyAdmin(ReadOnlyAdmin):
    """Signing keys are enrolled by setting a password or signing, never here; a key never changes. The
    admin shows who holds each and when it was enrolled; its history says who enrolled it."""

    list_display = ["id", "user", "enrolled_at"]
    fields = readonly_fields = ["user", "public_key", "enrolled_at"]


# django.contrib.auth registers User when its admin module is imported; this app comes before auth
# in INSTALLED_APPS, so import it first, then put the same admin back with a history view.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(RegistryAdmin, auth_admin.UserAdmin):
    """Django's user admin, with each account's history (never its password hash, which is not tracked)."""

    def revert_disabled(self, request, obj=None):
        # A history row has no password: reverting to it would save the account without one.
        return True


@admin.register(Group)
class GroupAdmin(RegistryAdmin, auth_admin.GroupAdmin):
    """Django's group admin, with each group's history: a role's name and permissions are tracked (issue 27).

    Groups are not deleted here: a deletion would drop the group from its members without a change
    in their history (the database cascades), and a role's group is in the record like a user.
    """

    def has_delete_permission(self, request, obj=None):
        return False
