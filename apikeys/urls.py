from django.urls import path

from apikeys import views

# POST /api/v1/keys/verify is routed first, by config/urls.py (the hot path).

urlpatterns = [
    path("api-keys/<str:key_id>", views.APIKeyDetailView.as_view(), name="api-key"),
    path(
        "api-keys/<str:key_id>/regenerate",
        views.APIKeyRegenerateView.as_view(),
        name="api-key-regenerate",
    ),
    path("dashboard", views.DashboardView.as_view(), name="dashboard"),
]
