from django.views.generic import TemplateView

from .accounts.access import RoleRequiredMixin
from .overview import model_overview


class HomeView(RoleRequiredMixin, TemplateView):
    # The overview shows decisions and the evaluations under them: a login without a role (no
    # group) gets the same 403 here as on every other page.
    permission_required = ("decisions.view_releasedecision", "evaluations.view_evaluation")
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["categories"], context["rows"] = model_overview()
        return context
