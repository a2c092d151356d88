from django.apps import AppConfig


class FilingsConfig(AppConfig):
    name = "riskreg.filings"
    label = "filings"
    verbose_name = "Filings and incidents"

    def ready(self):
        # The reporting rules are read at start-up: a file that makes no sense stops the app with the
        # reason (RulesError, an ImproperlyConfigured), instead of computing wrong deadlines later.
        from .rules import rules

        rules()
