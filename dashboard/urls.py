from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from dashboard import auth_views as sign_in
from dashboard import key_views, org_views

app_name = "dashboard"

urlpatterns = [
    path("", org_views.overview, name="overview"),
    path("signin", sign_in.SignInView.as_view(), name="sign-in"),
    path("signup", sign_in.sign_up, name="sign-up"),
    path("signout", sign_in.SignOutView.as_view(), name="sign-out"),
    path(
        "password-reset",
        auth_views.PasswordResetView.as_view(
            template_name="dashboard/password_reset.html",
            email_template_name="dashboard/email/password_reset.txt",
            subject_template_name="dashboard/email/password_reset_subject.txt",
            success_url=reverse_lazy("dashboard:password-reset-sent"),
        ),
        name="password-reset",
    ),
    path(
        "password-reset/sent",
        auth_views.PasswordResetDoneView.as_view(
            template_name="dashboard/password_reset_sent.html"
        ),
        name="password-reset-sent",
    ),
    path(
        "password-reset/<uidb64>/<token>",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="dashboard/password_reset_confirm.html",
            success_url=reverse_lazy("dashboard:password-reset-done"),
        ),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="dashboard/password_reset_done.html"
        ),
        name="password-reset-done",
    ),
    path("keys/", key_views.key_list, name="keys"),
    path("keys/new", key_views.key_create, name="key-create"),
    path("keys/<uuid:key_id>/", key_views.key_detail, name="key"),
    path("keys/<uuid:key_id>/regenerate", key_views.key_regenerate, name="key-regenerate"),
    path("keys/<uuid:key_id>/revoke", key_views.key_revoke, name="key-revoke"),
    path("billing/", org_views.billing, name="billing"),
    path("members/", org_views.members, name="members"),
    path("members/<uuid:user_id>/role", org_views.member_role, name="member-role"),
    path("organization/switch", org_views.switch_organization, name="switch-organization"),
]
