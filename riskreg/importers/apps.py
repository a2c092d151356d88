from django.apps import AppConfig


class ImportersConfig(AppConfig):
    name = "riskreg.importers"
    label = "importers"
