from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/", include([
        path("after-login/", views.after_login, name="after-login"),
        path("login/", views.ThrottledLoginView.as_view(), name="login"),
        path("logout/", auth_views.LogoutView.as_view(), name="logout"),
        path("settings/", views.SettingsView.as_view(), name="settings"),
        path("tokens/<int:pk>/revoke/", views.RevokeTokenView.as_view(), name="token-revoke"),
    ])),
    # The admin's log-in is throttled too: riskreg/urls.py includes this before admin/.
    path("admin/login/", views.ThrottledLoginView.as_view()),
]
