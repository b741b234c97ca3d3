"""Sign in (password or wallet), sign up, sign out, password reset.

Django's own auth views do the work; the password sign-in is throttled by
accounts.login_throttle (shared with the admin), the wallet sign-in is the
wallet app's /api/auth/siwe/login driven by static/js/siwe-login.js.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.authentication import ACTIVE_ORG_SESSION_KEY
from accounts.login_throttle import signup_refused
from accounts.services import user_sign_up
from config.errors import ValidationFailed
from dashboard.forms import SignInForm, SignUpForm, add_service_errors

PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "dashboard/sign_in.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): a link cannot sign anyone out."""

    next_page = reverse_lazy("dashboard:sign-in")


@sensitive_post_parameters("password", "password_again")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard:overview")
    form = SignUpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            refused = signup_refused(request)
            if refused is not None:
                form.add_error(
                    None,
                    "Too many accounts were created from your address; try again in "
                    f"{max(1, refused.retry_after // 60)} minutes.",
                )
                status = 429
            else:
                try:
                    user, org = user_sign_up(
                        email=form.cleaned_data["email"],
                        password=form.cleaned_data["password"],
                        organization_name=form.cleaned_data["organization_name"],
                    )
                except ValidationFailed as exc:
                    add_service_errors(form, exc, SignUpForm.SERVICE_FIELDS)
                else:
                    login(request, user, backend=PASSWORD_BACKEND)
                    request.session[ACTIVE_ORG_SESSION_KEY] = str(org.pk)
                    messages.success(
                        request, f"Welcome! {org.name} is ready; create your first key."
                    )
                    return redirect("dashboard:keys")
    return render(request, "dashboard/sign_up.html", {"form": form}, status=status)
