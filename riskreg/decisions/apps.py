from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "riskreg.decisions"
    label = "decisions"
