from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from panel import views

# The admin's own login form would bypass two-factor sign-in and the rate limits: it sends
# to the panel's login instead (allauth's documented way), then checks is_staff as usual.
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    # Accounts: allauth's pages, two of them wrapped (a 429 for the lock-out, a 404 when
    # sign-up is closed); two-factor set-up under /accounts/2fa/, sessions, single sign-on.
    path("accounts/login/", views.PanelLoginView.as_view(), name="account_login"),
    path("accounts/signup/", views.signup, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("team/", include("panel.team_urls")),
    path("servers/", include("servers.urls")),
    # Django's set_language (POST only): the footer's language choice, kept in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
