from django.urls import path, re_path, register_converter

from servers import bulk, exports, live, power, protection, views
from servers.converters import ServerIdConverter

app_name = "servers"

register_converter(ServerIdConverter, "server_id")

# Server ids are opaque (integers in the docs, UUIDs in the provider's own client).
urlpatterns = [
    path("", views.server_list, name="list"),
    # The server pages (servers/views.py); their "<id>/" routes are at the end.
    path("new/", views.server_create, name="create"),
    path("ssh-keys/", views.ssh_keys, name="ssh_keys"),
    path("ssh-keys/<int:pk>/delete/", views.ssh_key_delete, name="ssh_key_delete"),
    # Live updates (servers/live.py) and power actions (servers/power.py). "status/"
    # comes before any "<id>/" route so the list's poller is never taken for a server id.
    path("status/", live.list_poll, name="poll"),
    re_path(
        rf"^(?P<server_id>{ServerIdConverter.regex})/(?P<action>start|stop|reboot)/$",
        power.power,
        name="power",
    ),
    re_path(
        rf"^(?P<server_id>{ServerIdConverter.regex})/status/$", live.server_status, name="status"
    ),
    # Team operations (issue 12): delete protection, bulk actions, exports
    # (servers/protection.py, bulk.py, exports.py); fixed words before any "<id>/".
    path("bulk/", bulk.bulk, name="bulk"),
    path("export.csv", exports.servers_csv, name="export"),
    path("<server_id:server_id>/protect/", protection.protect, name="protect"),
    path("<server_id:server_id>/unprotect/", protection.unprotect, name="unprotect"),
    # The server pages again: every "<id>/" route after the fixed words above.
    path("<server_id:server_id>/", views.server_detail, name="detail"),
    path("<server_id:server_id>/edit/", views.server_edit, name="edit"),
    path("<server_id:server_id>/rename/", views.server_rename, name="rename"),
    path("<server_id:server_id>/delete/", views.server_delete, name="delete"),
]
