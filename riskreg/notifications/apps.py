from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "riskreg.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from django.db.models.signals import post_save

        from riskreg.evaluations.models import Evaluation, Evidence

        from . import events

        post_save.connect(events.evaluation_saved, sender=Evaluation, dispatch_uid="riskreg.notify.evaluation")
        post_save.connect(events.evidence_saved, sender=Evidence, dispatch_uid="riskreg.notify.evidence")
