import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from config.checks import assert_safe_to_serve  # noqa: E402  (needs settings loaded)

assert_safe_to_serve()
