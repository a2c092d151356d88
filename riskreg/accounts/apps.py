from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "riskreg.accounts"
    label = "accounts"

    def ready(self):
        from . import signals, usernames

        signals.connect()
        usernames.install()
