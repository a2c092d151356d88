import django_filters

from riskreg.frameworks.models import ThreatCategory
from riskreg.lib.forms import FilterForm

from .models import Risk, RiskStatus, Score, Treatment


class RiskFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")
    category = django_filters.ModelChoiceFilter(queryset=ThreatCategory.objects.all())
    status = django_filters.ChoiceFilter(choices=RiskStatus.choices)
    treatment = django_filters.ChoiceFilter(choices=Treatment.choices)
    owner = django_filters.CharFilter(lookup_expr="icontains")
    inherent_likelihood = django_filters.ChoiceFilter(choices=Score.choices)
    inherent_impact = django_filters.ChoiceFilter(choices=Score.choices)
    residual_likelihood = django_filters.ChoiceFilter(choices=Score.choices)
    residual_impact = django_filters.ChoiceFilter(choices=Score.choices)

    class Meta:
        model = Risk
        form = FilterForm
        fields = ["q", "category", "status", "treatment", "owner"]
