from django.urls import path

from wallet import views

app_name = "wallet"

urlpatterns = [
    path("siwe/nonce", views.SiweNonceView.as_view(), name="siwe-nonce"),
    path("siwe/verify", views.SiweVerifyView.as_view(), name="siwe-verify"),
    path("siwe/login", views.SiweLoginView.as_view(), name="siwe-login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
]
