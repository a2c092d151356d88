"""The project's addresses: every app routes its own pages in its own urls.py, included here.

Only the project's pages are routed at the root: the overview and My work (riskreg/views.py) and the
API description (riskreg/api.py). An app whose pages sit under more than one prefix (decisions and
its gate API, say) is included at "" and names its prefixes in its urls.py.
"""

from django.contrib import admin
from django.urls import include, path

from . import views
from .api import OpenApiView

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("my-work/", views.MyWorkView.as_view(), name="my-work"),
    path("api/openapi.json", OpenApiView.as_view(), name="api-openapi"),
    path("", include("riskreg.accounts.urls")),  # accounts/… and the admin's throttled log-in, before admin/
    path("", include("riskreg.evaluations.urls")),  # evaluations/… and models/<slug>/
    path("framework-versions/", include("riskreg.frameworks.urls")),
    path("risks/", include("riskreg.risks.urls")),
    path("", include("riskreg.decisions.urls")),  # decisions/… and api/decisions/<pk>/gate/
    path("", include("riskreg.filings.urls")),
    path("audit/", include("riskreg.audit.urls")),
    path("", include("riskreg.importers.urls")),  # import/… and api/imports/
    path("admin/", admin.site.urls),
]
