from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "riskreg.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from django.core import checks
        from django.db.models.signals import post_save

        checks.register(mail_settings, checks.Tags.compatibility, deploy=True)

        from riskreg.evaluations.models import Evaluation, Evidence

        from . import events

        post_save.connect(events.evaluation_saved, sender=Evaluation, dispatch_uid="riskreg.notify.evaluation")
        post_save.connect(events.evidence_saved, sender=Evidence, dispatch_uid="riskreg.notify.evidence")
        from riskreg.filings.models import Incident

        post_save.connect(events.incident_saved, sender=Incident, dispatch_uid="riskreg.notify.incident")


def mail_settings(app_configs=None, **kwargs):
    """`check --deploy`: a deployment that would print its mail (rejection reasons among it) to the log and
    count it as sent, or send links to localhost."""
    from django.conf import settings
    from django.core.checks import Warning

    found = []
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        found.append(Warning("Mail goes to the console, not to people: set EMAIL_HOST (and EMAIL_PORT, …).",
                             id="riskreg.W001"))  # fmt: skip
    if "localhost" in settings.SITE_URL or "127.0.0.1" in settings.SITE_URL:
        found.append(Warning("SITE_URL points at this machine: the links in mail would not reach anyone.",
                             id="riskreg.W002"))  # fmt: skip
    return found
