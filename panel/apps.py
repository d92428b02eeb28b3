from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PanelConfig(AppConfig):
    name = "panel"
    verbose_name = _("Panel")

    def ready(self) -> None:
        # Registers the deploy checks and the accounts' signal receivers (audit, team).
        from panel import account_signals, checks  # noqa: F401
