from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from .overview import model_overview


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["categories"], context["rows"] = model_overview()
        return context
