from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from panel import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.PanelLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("servers/", include("servers.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
