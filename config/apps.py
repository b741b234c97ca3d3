from django.apps import AppConfig


class ConfigAppConfig(AppConfig):
    """Registers project-wide system checks (see config.checks)."""

    name = "config"
    label = "gatehouse_config"
    verbose_name = "Gatehouse"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)
