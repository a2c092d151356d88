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
    """Create the groups and give each exactly its permissions (those that exist yet)."""
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
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
