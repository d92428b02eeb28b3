from django.urls import path

from panel import team_views as views

app_name = "team"

urlpatterns = [
    path("token/", views.token, name="token"),
    path("token/remove/", views.token_remove, name="token_remove"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.invite, name="invite"),
    path("members/two-factor/", views.two_factor_policy, name="two_factor_policy"),
    path("members/<int:pk>/role/", views.member_role, name="member_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("join/<str:key>/", views.join, name="join"),
    path("leave/", views.leave, name="leave"),
    path("activity/", views.activity, name="activity"),
    path("activity/export.csv", views.activity_export, name="activity_export"),
    path("switch/", views.switch, name="switch"),
]
