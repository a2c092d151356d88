from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "riskreg.accounts"
    label = "accounts"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from .signer_keys import enrol_on_password_change

        post_save.connect(enrol_on_password_change, sender=get_user_model(), dispatch_uid="riskreg.signer_key.enrol")
