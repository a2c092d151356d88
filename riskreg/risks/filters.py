import django_filters

from riskreg.forms import FilterForm
from riskreg.frameworks.models import ThreatCategory

from .models import SCALE, Risk, RiskStatus, Treatment

SCALE_CHOICES = [(n, n) for n in SCALE]


class RiskFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")
    category = django_filters.ModelChoiceFilter(queryset=ThreatCategory.objects.all())
    status = django_filters.ChoiceFilter(choices=RiskStatus.choices)
    treatment = django_filters.ChoiceFilter(choices=Treatment.choices)
    owner = django_filters.CharFilter(lookup_expr="icontains")
    inherent_likelihood = django_filters.ChoiceFilter(choices=SCALE_CHOICES)
    inherent_impact = django_filters.ChoiceFilter(choices=SCALE_CHOICES)
    residual_likelihood = django_filters.ChoiceFilter(choices=SCALE_CHOICES)
    residual_impact = django_filters.ChoiceFilter(choices=SCALE_CHOICES)

    class Meta:
        model = Risk
        form = FilterForm
        fields = ["q", "category", "status", "treatment", "owner"]
