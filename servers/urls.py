from django.urls import path

from servers import views

app_name = "servers"

# Server ids are opaque (integers in the docs, UUIDs in the provider's own client).
urlpatterns = [
    path("", views.server_list, name="list"),
]
