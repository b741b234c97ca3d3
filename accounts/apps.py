from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the failed-sign-in counter to django.contrib.auth's signal.
        from accounts import login_throttle  # noqa: F401
