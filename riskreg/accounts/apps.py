from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "riskreg.accounts"
    label = "accounts"
