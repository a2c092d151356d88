from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from .forms import ApiTokenForm
from .models import ApiToken


class SettingsView(LoginRequiredMixin, TemplateView):
    """The user's own settings: API tokens for pipelines that call the release gate."""

    template_name = "accounts/settings.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = self.request.user.api_tokens.all()
        context.setdefault("form", ApiTokenForm())
        return context

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        token, raw = ApiToken.issue(request.user, form.cleaned_data["name"])
        # Shown once, on this response only: never stored, never put in a message or the session.
        return self.render_to_response(self.get_context_data(new_token=raw, new_token_record=token))


class RevokeTokenView(LoginRequiredMixin, View):
    def post(self, request, pk):
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        token.revoke(by=request.user)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("settings")
