from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "riskreg.evaluations"
    label = "evaluations"
