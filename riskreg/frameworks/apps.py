from django.apps import AppConfig


class FrameworksConfig(AppConfig):
    name = "riskreg.frameworks"
    label = "frameworks"
