from django import forms

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
