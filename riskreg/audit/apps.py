from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "riskreg.audit"
    label = "audit"
