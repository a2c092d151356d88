from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "riskreg.accounts"
    label = "accounts"

    def ready(self):
        from . import signals

        signals.connect()
