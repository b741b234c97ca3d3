from django.urls import path

from apikeys import views

urlpatterns = [
    path("api-keys/<str:key_id>", views.APIKeyDetailView.as_view(), name="api-key"),
    path(
        "api-keys/<str:key_id>/regenerate",
        views.APIKeyRegenerateView.as_view(),
        name="api-key-regenerate",
    ),
    path("keys/verify", views.VerifyKeyView.as_view(), name="keys-verify"),
    path("dashboard", views.DashboardView.as_view(), name="dashboard"),
]
