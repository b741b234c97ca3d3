"""The overview, billing, members and the organization switcher."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.authentication import ACTIVE_ORG_SESSION_KEY
from accounts.selectors import organization_members
from accounts.services import membership_role_change
from apikeys import selectors as key_selectors
from apikeys.usage import usage_by_day
from billing.money import format_usd
from billing.selectors import ledger_recent, payments_recent
from billing.services import balance_micros
from billing.x402 import payments_enabled
from config.errors import ServiceError
from dashboard.charts import bar_chart
from dashboard.forms import OrganizationSwitchForm, RoleForm
from dashboard.workspace import forbidden, workspace_required

LEDGER_PAGE_SIZE = 25


@workspace_required
def overview(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    org = ws.organization
    keys = list(key_selectors.keys_of_organization(organization_id=org.pk, status="all"))
    chosen = None
    wanted = request.GET.get("key")
    if wanted:
        chosen = next((k for k in keys if str(k.pk) == wanted), None)
        if chosen is None:
            raise Http404("No such key in this organization.")
    series = usage_by_day(
        organization_id=org.pk, key_id=chosen.pk if chosen else None, today=timezone.now().date()
    )
    now = timezone.now()
    activity = [
        {"at": e.created_at, "kind": "key", "event": e}
        for e in key_selectors.organization_events(organization_id=org.pk)
    ]
    balance = None
    if ws.may_see_billing:
        balance = format_usd(balance_micros(organization=org.pk))
        activity += [
            {
                "at": row.created_at,
                "kind": "ledger",
                "entry": row,
                "amount": format_usd(row.amount_micros),
            }
            for row in ledger_recent(organization_id=org.pk)[:10]
        ]
    activity.sort(key=lambda item: item["at"], reverse=True)
    return render(
        request,
        "dashboard/overview.html",
        {
            "org": org,
            "balance": balance,
            "active_keys": sum(1 for k in keys if k.status_at(now) == "active"),
            "keys": keys,
            "chosen": chosen,
            "chart": bar_chart(series),
            "activity": activity[:12],
        },
    )


@workspace_required
def billing(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    if not ws.may_see_billing:
        return forbidden(request, "Billing is for the organization's owners and admins.")
    org = ws.organization
    page = Paginator(ledger_recent(organization_id=org.pk), LEDGER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "entry": e,
            "amount": format_usd(e.amount_micros),
            "after": format_usd(e.balance_after_micros),
        }
        for e in page
    ]
    payments = [
        {"payment": p, "amount": format_usd(p.credit_micros)}
        for p in payments_recent(organization_id=org.pk)
    ]
    return render(
        request,
        "dashboard/billing.html",
        {
            "org": org,
            "balance": format_usd(balance_micros(organization=org.pk)),
            "page": page,
            "rows": rows,
            "payments": payments,
            "amounts": settings.TOPUP_AMOUNTS_USD,
            # No amounts offered is as good as no payments: no button to press.
            "offer_topup": bool(settings.TOPUP_AMOUNTS_USD) and payments_enabled(),
        },
    )


@workspace_required
def members(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    return render(
        request,
        "dashboard/members.html",
        {
            "members": organization_members(organization_id=ws.organization.pk),
            "role_form": RoleForm,
        },
    )


@workspace_required
@require_POST
def member_role(request: HttpRequest, user_id) -> HttpResponse:
    ws = request.workspace
    if not ws.may_change_roles:
        return forbidden(request, "Only an owner can change roles.")
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, admin or member.")
        return redirect("dashboard:members")
    try:
        membership = membership_role_change(
            organization=ws.organization,
            user_id=user_id,
            role=form.cleaned_data["role"],
            by=ws.user,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:members")
    messages.success(
        request, f"{membership.user.username} is now {membership.get_role_display().lower()}."
    )
    return redirect("dashboard:members")


@workspace_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    form = OrganizationSwitchForm(request.POST)
    target = None
    if form.is_valid():
        wanted = form.cleaned_data["organization"]
        target = next((m for m in ws.memberships if m.organization_id == wanted), None)
    if target is None:
        raise Http404("You are not a member of that organization.")
    request.session[ACTIVE_ORG_SESSION_KEY] = str(target.organization_id)
    messages.success(request, f"Now working in {target.organization.name}.")
    return redirect("dashboard:overview")
