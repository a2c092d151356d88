"""The roles of DESIGN.md §1 as Django groups, and the permissions each one holds.

Admins are superusers. Migrations call apply_roles(); it is idempotent and sets each group to
exactly these permissions, so a later migration that changes a role calls it again.
"""

VIEWER, EVALUATOR, APPROVER, AUDITOR = "viewer", "evaluator", "approver", "auditor"
COMPLIANCE = "compliance"  # compliance officers: the incident register, the reports sent, the crosswalk

# Every model a viewer may read.
_DOMAIN_MODELS = {
    "frameworks": ["threatcategory", "governancetitle", "framework", "frameworkversion", "threshold", "coverage"],
    "evaluations": ["aimodel", "snapshot", "evaluation", "evidence", "importedrun"],
    "risks": ["risk"],
    "decisions": ["releasedecision", "determination", "gapacknowledgement", "signoff", "reviewcondition"],
    "filings": ["incident", "incidentreport", "coderiskmapping", "filing"],
}

_VIEW = [f"{app}.view_{model}" for app, models in _DOMAIN_MODELS.items() for model in models]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _VIEW,
    EVALUATOR: _VIEW
    + [
        "evaluations.add_evaluation",
        "evaluations.change_evaluation",
        "evaluations.add_evidence",
        "evaluations.import_evaluation_logs",
        "evaluations.add_snapshot",
        "risks.add_risk",
        "risks.change_risk",
        "decisions.add_releasedecision",
        "decisions.change_releasedecision",
        "decisions.add_determination",
        "decisions.change_determination",
        "decisions.delete_determination",
        "decisions.add_gapacknowledgement",
        "decisions.change_gapacknowledgement",
        "decisions.delete_gapacknowledgement",
        "decisions.add_reviewcondition",
        "decisions.change_reviewcondition",
        "decisions.delete_reviewcondition",
    ],
    APPROVER: _VIEW + ["decisions.sign_releasedecision", "decisions.add_signoff"],
    AUDITOR: _VIEW + ["audit.view_auditevent", "audit.export_auditevent", "filings.view_unredacted_filing"],
    COMPLIANCE: _VIEW
    + [
        "filings.add_incident",
        "filings.change_incident",
        "filings.report_incident",
        "filings.add_incidentreport",
        "filings.add_coderiskmapping",
        "filings.change_coderiskmapping",
        "filings.add_filing",
        "filings.view_unredacted_filing",
    ],
}


def apply_roles(apps, schema_editor=None):
    """Create the groups and give each exactly its permissions (those that exist yet), in one transaction.

    Groups are tracked (accounts 0010). With the real models each change writes its history row and
    audit event itself; a migration's models have no history, so a migration that runs this after
    0010 records each group it changed through the real model, as riskreg/audit/chain.py asks.
    """
    from django.db import transaction

    with transaction.atomic():
        _apply_roles(apps)


def _apply_roles(apps):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate finishes; create them now so the groups
    # can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True  # create_permissions skips apps without models
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, created = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                wanted.append(permission)
        before = set(group.permissions.values_list("pk", flat=True))
        group.permissions.set(wanted)
        if created or before != {permission.pk for permission in wanted}:
            _record_from_a_migration(Group, group.pk, "+" if created else "~")


def _record_from_a_migration(model, pk, action: str) -> None:
    """A group's history row and event, when `model` is a migration's (history-less) Group after accounts 0010."""
    from django.contrib.auth.models import Group
    from django.db import connection

    if model is Group:
        return  # the real model: its save and m2m change wrote their own history
    history_table = Group.history.model._meta.db_table  # type: ignore[attr-defined]  # added by simple_history
    if history_table not in connection.introspection.table_names():
        return  # before accounts 0010, which records every group as it is then
    from riskreg.accounts.models import GROUP_HISTORY

    group = Group.objects.get(pk=pk)
    group._change_reason = "Role permissions set by a migration (accounts.roles.apply_roles)"  # type: ignore[attr-defined]
    GROUP_HISTORY.create_historical_record(group, action)
