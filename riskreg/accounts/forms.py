from django import forms


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. 'release pipeline'.")


class MailPreferenceForm(forms.Form):
    send_mail = forms.BooleanField(
        required=False, label="Send me mail",
        help_text="When a decision asks for my sign-off, when a decision I wrote or signed is signed, rejected, "
                  "approved or changes after approval, and when a risk I own is due for review.",
    )  # fmt: skip
