"""The dashboard's forms. They turn posted text into typed values; every rule
(lengths, limits, allowed values) is decided by the service the view calls, and
its errors are put back next to the fields (`add_service_errors`)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from accounts.forms import LockoutMessageMixin
from accounts.models import Role, User
from accounts.principal import SCOPED_PERMISSIONS
from accounts.roles import MANAGER_ONLY_PERMISSIONS
from apikeys.models import Environment
from config.errors import ServiceError

EXPIRY_CHOICES = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("180", "180 days"),
    ("365", "1 year"),
]
GRACE_CHOICES = [
    ("0", "None: the old secret stops working now"),
    ("3600", "1 hour"),
    ("21600", "6 hours"),
    ("86400", "24 hours"),
]
# Grantable from the dashboard: `verify` is for operators only.
PLAIN_CHOICES = [
    ("keys", "keys: create, regenerate and revoke API keys"),
    ("billing", "billing: read the balance and the ledger"),
]
PERMISSION_CHOICES = [
    (f"{name}:{mode}", f"{name}:{mode}")
    for name in SCOPED_PERMISSIONS
    for mode in ("read", "write")
] + PLAIN_CHOICES
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class PlainLabels:
    """Labels without Django's trailing colon (the pages set labels above fields)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def add_service_errors(form: forms.Form, exc: ServiceError, fields: dict[str, str]) -> None:
    """Put a service's refusal on the form: field errors next to their fields
    (`fields` maps the service's names to the form's), anything else on top."""
    details = exc.details or {}
    placed = False
    for name, messages in (details.get("fields") or {}).items():
        target = fields.get(name)
        if target in form.fields:
            for message in messages:
                form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class SignInForm(PlainLabels, LockoutMessageMixin, AuthenticationForm):
    """Username or email, and password (lock-outs explained, see accounts.login_throttle)."""

    username = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def clean_username(self) -> str:
        value = self.cleaned_data["username"].strip()
        if "@" in value:
            # An email signs in as the one account that has it.
            matches = list(
                User.objects.filter(email__iexact=value).values_list("username", flat=True)[:2]
            )
            if len(matches) == 1:
                return matches[0]
        return value


class SignUpForm(PlainLabels, forms.Form):
    email = forms.CharField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="At least 10 characters; not a common password.",
    )
    password_again = forms.CharField(
        label="Password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    organization_name = forms.CharField(
        label="Organization name", required=False, help_text="Optional; you can use your own name."
    )

    SERVICE_FIELDS = {
        "email": "email",
        "password": "password",
        "organizationName": "organization_name",
    }

    def clean(self):
        data = super().clean()
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class FormTokenMixin(PlainLabels, forms.Form):
    """A one-time token in the form, so that a double-submitted form acts once."""

    form_token = forms.CharField(widget=forms.HiddenInput)

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(24)

    def clean_form_token(self) -> str:
        token = self.cleaned_data["form_token"]
        if not TOKEN_RE.match(token):
            raise forms.ValidationError("This form is out of date; please fill it in again.")
        return token


class KeyCreateForm(FormTokenMixin):
    name = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": 100, "autocomplete": "off"}),
        help_text="What uses it, e.g. “CI deploys” (1 to 100 characters).",
    )
    permissions = forms.MultipleChoiceField(
        choices=PERMISSION_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave every box empty for a key with all of the organization's permissions.",
    )
    environment = forms.ChoiceField(
        choices=Environment.choices, initial=Environment.LIVE, widget=forms.RadioSelect
    )
    expires_in = forms.TypedChoiceField(
        label="Expires in", choices=EXPIRY_CHOICES, coerce=int, initial="90"
    )
    rate_limit = forms.IntegerField(
        label="Rate limit (requests per minute)",
        required=False,
        help_text="Empty: the plan's limit. A key's own limit can only be lower.",
    )
    allowed_ips = forms.CharField(
        label="Allowed IP addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One address or CIDR network per line (e.g. 203.0.113.0/24). Empty: any.",
    )

    def __init__(self, *args, may_grant_all: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_grant_all:
            field = self.fields["permissions"]
            field.choices = [c for c in field.choices if c[0] not in MANAGER_ONLY_PERMISSIONS]
            field.help_text = (
                "Choose what the key may do. As a member, you cannot give a key the keys "
                "or billing permission, nor every permission."
            )

    SERVICE_FIELDS = {
        "name": "name",
        "permissions": "permissions",
        "environment": "environment",
        "rateLimit": "rate_limit",
        "allowedIps": "allowed_ips",
        "expiresAt": "expires_in",
    }

    def clean_permissions(self) -> list[str]:
        chosen = set(self.cleaned_data["permissions"])
        granted = []
        for name in SCOPED_PERMISSIONS:
            read, write = f"{name}:read" in chosen, f"{name}:write" in chosen
            if read and write:
                granted.append(name)
            elif read or write:
                granted.append(f"{name}:{'read' if read else 'write'}")
        granted += [name for name, _label in PLAIN_CHOICES if name in chosen]
        return granted

    def clean_allowed_ips(self) -> list[str]:
        return [item for item in re.split(r"[\s,]+", self.cleaned_data["allowed_ips"]) if item]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "permissions": data["permissions"],
            "environment": data["environment"],
            "rate_limit": data["rate_limit"],
            "allowed_ips": data["allowed_ips"],
            "expires_at": timezone.now() + timedelta(days=data["expires_in"]),
        }


class KeyRegenerateForm(PlainLabels, forms.Form):
    grace_period = forms.TypedChoiceField(
        label="Grace period for the old secret",
        choices=GRACE_CHOICES,
        coerce=int,
        initial="0",
        widget=forms.RadioSelect,
        help_text="While it lasts, the old and the new secret both work.",
    )

    SERVICE_FIELDS = {"gracePeriodSeconds": "grace_period"}


class OrganizationSwitchForm(forms.Form):
    organization = forms.UUIDField(widget=forms.HiddenInput)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    SERVICE_FIELDS = {"role": "role"}
