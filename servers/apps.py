from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServersConfig(AppConfig):
    name = "servers"
    verbose_name = _("Servers")

    def ready(self) -> None:
        # Connects the catalog's signal receiver (deleted OSes are learned again).
        from servers import catalog  # noqa: F401
