
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView, View

from riskreg import mywork
from riskreg.lib import confirmation
from riskreg.notifications.models import MailPreference
from riskreg.notifications.outbox import wants_mail_at_all

from .forms import ApiTokenForm, MailPreferenceForm
from .models import ApiToken, LoginFailure


class SettingsView(LoginRequiredMixin, TemplateView):
    """The user's own settings: API tokens for pipelines that call the release gate."""

    template_name = "accounts/settings.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = self.request.user.api_tokens.all()
        context.setdefault("form", ApiTokenForm())
        context["mail_form"] = MailPreferenceForm(initial={"send_mail": wants_mail_at_all(self.request.user)})
        return context

    def post(self, request):
        if "send_mail_choice" in request.POST:
            return self.save_mail_choice(request)
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        token, raw = ApiToken.issue(request.user, form.cleaned_data["name"])
        # Shown once, on this response only: never stored, never put in a message or the session.
        return self.render_to_response(self.get_context_data(new_token=raw, new_token_record=token))

    def save_mail_choice(self, request):
        chosen = MailPreferenceForm(request.POST)
        chosen.is_valid()  # a checkbox: absent means no
        send = bool(chosen.cleaned_data.get("send_mail"))
        with transaction.atomic():
            preference = MailPreference.objects.select_for_update().filter(user=request.user).first()
            if preference is None or preference.send_mail != send:
                preference = preference or MailPreference(user=request.user)
                preference.send_mail = send
                preference._history_user = request.user
                preference.save()
        messages.success(request, "You will get mail about your tasks." if send else
                         "You will get no mail from riskreg; My work still lists your tasks.")  # fmt: skip
        return redirect("accounts:settings")


class RevokeTokenView(LoginRequiredMixin, View):
    def post(self, request, pk):
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        if token.revoked_at is not None:
            messages.info(request, f"Token “{token.name}” was already revoked.")
            return redirect("accounts:settings")
        if not confirmation.confirmed(request, {}):
            return confirmation.page(
                request, heading=f"Confirm: revoke the token “{token.name}”",
                consequences=["Every pipeline that uses it is refused from now on (HTTP 401).",
                              "A revoked token cannot be restored: make a new one for a pipeline that needs it."],
                button="Yes, revoke it", back_url=reverse("accounts:settings"), back_text="No, back to my settings",
            )  # fmt: skip
        token.revoke(by=request.user)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("accounts:settings")


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class ThrottledLoginView(auth_views.LoginView):
    """Django's log-in, refusing attempts (HTTP 429) once a username or an address has failed too often.

    Each attempt is counted as a failure before its password is checked, in a transaction of its own
    (this view is not one request-long transaction, so the count commits at once), under the name the
    log-in form and backend would log in as: " viewer", "viewer " and "ｖｉｅｗｅｒ" are all "viewer".
    A successful log-in gives the count back. Log-in writes no tracked record (last_login is not tracked).
    """

    reservation: LoginFailure | None = None

    def post(self, request, *args, **kwargs):
        typed = request.POST.get("username", "")
        normalised = self.get_form_class()(request).fields["username"].to_python(typed)  # as the form cleans it
        self.reservation = LoginFailure.reserve(
            LoginFailure.throttle_name(normalised), request.META.get("REMOTE_ADDR")
        )
        if self.reservation is None:
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            context = self.get_context_data(
                form=self.get_form_class()(request),  # unbound: the password is not even checked
                throttled=f"Too many failed attempts to log in. Try again in {minutes} minutes.",
            )
            response = self.render_to_response(context)
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if self.reservation is not None:
            self.reservation.delete()  # not a failure after all
        return super().form_valid(form)


def after_login(request):
    """Where logging in leads: My work for someone with tasks, the overview for everyone else."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    total = mywork.count(mywork.my_work(request.user, request.session))
    mywork.remember_count(request.session, total)
    return redirect("my-work" if total else "home")
