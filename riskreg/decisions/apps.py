from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "riskreg.decisions"
    label = "decisions"

    def ready(self):
        from riskreg.audit import verifiers

        from .signatures import check_signatures

        verifiers.register(check_signatures)
