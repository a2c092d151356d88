import stat

from django.apps import AppConfig
from django.db import connection, transaction
from django.db.models.signals import post_migrate, pre_delete, pre_save
from simple_history.signals import post_create_historical_record


def _is_tracked(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _require_transaction(sender, update_fields=None, **kwargs):
    """A tracked row, its history row and its audit event commit together or not at all.

    Outside a transaction Django would commit the row before its history exists; refuse that.
    Requests are atomic, and commands wrap their writes in transaction.atomic(). A save of
    untracked fields only (a user's last_login at log-in) writes no history, so needs none.
    """
    if not _is_tracked(sender) or connection.in_atomic_block:
        return
    if update_fields and set(update_fields) <= set(sender.history.model._history_excluded_fields):
        return
    raise transaction.TransactionManagementError(
        f"{sender._meta.label} is written only inside a transaction (wrap the write in transaction.atomic())."
    )


def _append_audit_event(sender, instance, history_instance, **kwargs):
    from .chain import append_events

    append_events([history_instance], live_instances=[instance])


class AuditConfig(AppConfig):
    name = "riskreg.audit"
    label = "audit"

    def ready(self):
        pre_save.connect(_require_transaction, dispatch_uid="riskreg.audit.require_transaction.save")
        pre_delete.connect(_require_transaction, dispatch_uid="riskreg.audit.require_transaction.delete")
        post_create_historical_record.connect(_append_audit_event, dispatch_uid="riskreg.audit.append")
        post_migrate.connect(_install_append_only_triggers, sender=self, dispatch_uid="riskreg.audit.triggers")
        from django.core import checks

        checks.register(signing_key_settings, checks.Tags.security, deploy=True)


def signing_key_settings(app_configs=None, **kwargs):
    """`check --deploy`: checkpoints would be signed with seed_demo's demo key, with no key at all, or with a key
    file others than its owner may read."""
    from django.core.checks import Warning

    from . import signing

    found = [Warning(f"A configured audit verifier key is wrong: {problem}.", id="riskreg.W006")
             for problem in signing.bad_verifier_key_settings()]  # fmt: skip
    try:
        key = signing.load()
    except signing.KeyUnavailable as error:
        return [Warning(f"The audit trail's checkpoints cannot be signed: {error}", id="riskreg.W003"), *found]
    if key.demo:
        found.append(Warning("The audit signing key is seed_demo's demo key: make a real one with "
                             "manage.py audit_keygen --replace.", id="riskreg.W004"))  # fmt: skip
    path = signing.key_path()
    mode = stat.S_IMODE(path.stat().st_mode) if path is not None else 0
    if mode & 0o077:  # anyone but the owner may read it (or write it): they could sign a rewritten trail
        found.append(Warning(f"The audit signing key {path} is open to its group or others (mode {mode:04o}): "
                             f"chmod 600 {path}; only the app's user may read it.", id="riskreg.W005"))  # fmt: skip
    return found


def _install_append_only_triggers(using="default", **kwargs):
    """After every migrate (as the owner): the append-only triggers, then the app role's grants."""
    from riskreg.lib.dbroles import grant_app_role

    from .triggers import install_append_only_triggers

    install_append_only_triggers(using)
    grant_app_role(using)
