from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "wallet"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The cache invalidation signals, and the OpenAPI description of the scheme.
        from wallet import schema, signals  # noqa: F401
