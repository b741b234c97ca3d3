"""Password sign-in forms that explain a lock-out (accounts.login_throttle)."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from accounts.login_throttle import login_lockout


def lockout_message(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return (
        "Too many failed sign-in attempts. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or sign in with your wallet."
    )


class LockoutMessageMixin:
    """Says "locked out" instead of "wrong password" while the throttle holds
    (LoginLockoutBackend refuses regardless; this only explains it)."""

    def clean(self):
        lockout = login_lockout(getattr(self, "request", None), self.cleaned_data.get("username"))
        if lockout is not None:
            raise forms.ValidationError(lockout_message(lockout.retry_after), code="locked_out")
        return super().clean()


class ThrottledAdminAuthenticationForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's login form, throttled like the dashboard's."""
