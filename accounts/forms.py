from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from accounts.login_throttle import login_lockout
from billing.money import parse_usd
from config.errors import ValidationFailed


class GrantCreditsForm(forms.Form):
    """The admin action's second step: how much and why."""

    usd = forms.CharField(label="Amount (USD)", max_length=32, help_text="e.g. 12.5")
    reason = forms.CharField(max_length=500, help_text="Kept in the ledger.")

    def clean_usd(self) -> int:
        try:
            return parse_usd(self.cleaned_data["usd"], field="amount")
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why.")
        return reason


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
