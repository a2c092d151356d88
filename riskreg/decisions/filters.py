import django_filters

from riskreg.evaluations.models import AIModel
from riskreg.frameworks.models import FrameworkVersion
from riskreg.lib.forms import FilterForm

from .models import DecisionStatus, ReleaseDecision, Scope


class ReleaseDecisionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")
    model = django_filters.ModelChoiceFilter(
        field_name="snapshot__model", queryset=AIModel.objects.all(), label="Model"
    )
    status = django_filters.ChoiceFilter(choices=DecisionStatus.choices)
    scope = django_filters.ChoiceFilter(choices=Scope.choices)
    framework_version = django_filters.ModelChoiceFilter(queryset=FrameworkVersion.objects.select_related("framework"))

    class Meta:
        model = ReleaseDecision
        form = FilterForm
        fields = ["q", "model", "status", "scope", "framework_version"]
