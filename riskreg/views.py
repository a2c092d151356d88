from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.functional import SimpleLazyObject
from django.views.generic import TemplateView

from . import mywork
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


class MyWorkView(LoginRequiredMixin, TemplateView):
    """Each person's tasks, by kind, each with what to do and a link to where it is done."""

    template_name = "my_work.html"

    def get_context_data(self, **kwargs):
        sections = mywork.my_work(self.request.user, self.request.session)
        total = mywork.count(sections)
        mywork.remember_count(self.request.session, total)
        return {**super().get_context_data(**kwargs), "sections": sections, "total": total}


def my_work_count(request) -> dict:
    """The header's task count (a context processor), worked out only when a template shows it."""
    return {"my_work_count": SimpleLazyObject(lambda: mywork.header_count(getattr(request, "session", None)) or 0)}
