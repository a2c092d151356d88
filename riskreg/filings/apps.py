from django.apps import AppConfig


class FilingsConfig(AppConfig):
    name = "riskreg.filings"
    label = "filings"
    verbose_name = "Filings and incidents"
