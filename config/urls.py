from django.contrib import admin
from django.urls import include, path, re_path

from apikeys.views import VerifyKeyView
from config import views
from config.schema_views import SchemaView, SwaggerView
from wallet.views import APIKeyCollectionView

urlpatterns = [
    # First: every gateway calls it on every request of its own, and Django tries
    # the patterns in order (here ~5 µs to resolve, behind the includes ~20).
    path("api/v1/keys/verify", VerifyKeyView.as_view(), name="keys-verify"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/auth/", include("wallet.urls")),
    path("api/v1/", include("billing.urls")),
    # The key collection is wallet's view (apikeys' plus headless creation by a
    # SIWE proof): wallet stands on apikeys, so the roof routes the URL to it.
    path("api/v1/api-keys", APIKeyCollectionView.as_view(), name="api-keys"),
    path("api/v1/", include("apikeys.urls")),
    # Anything else under /api/ is a JSON 404, also with DEBUG on.
    re_path(r"^api(?:/.*)?$", views.api_not_found),
    # The dashboard's pages (the top floor): `/` is the overview, or the sign-in.
    path("", include("dashboard.urls")),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
