from django.urls import path

from billing import topup_views, views

urlpatterns = [
    path("credits", views.CreditsBalanceView.as_view(), name="credits-balance"),
    path(
        "credits/transactions",
        views.CreditsTransactionsView.as_view(),
        name="credits-transactions",
    ),
    path("echo", views.EchoView.as_view(), name="echo"),
    path("topup/<int:amount>", topup_views.TopUpView.as_view(), name="topup"),
]
