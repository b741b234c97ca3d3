"""API key pages: the list, create (the key shown once), a key's page,
regenerate and revoke behind confirmations. Rules live in apikeys.services and
accounts.roles; these views parse, ask, call and render."""

from __future__ import annotations

import logging
import uuid

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apikeys import selectors, services
from apikeys.models import APIKey
from apikeys.usage import usage_by_day
from config.errors import Conflict, ServiceError, ValidationFailed
from config.net import client_ip
from dashboard.charts import bar_chart
from dashboard.forms import FormTokenMixin, KeyCreateForm, KeyRegenerateForm, add_service_errors
from dashboard.workspace import forbidden, workspace_required

logger = logging.getLogger("gatehouse.dashboard")
FORM_TOKEN_SECONDS = 6 * 3600
_PLACEHOLDER = uuid.UUID(int=0)


def _key_or_404(request: HttpRequest, key_id: uuid.UUID) -> APIKey:
    key = selectors.key_of_organization(
        organization_id=request.workspace.organization.pk, key_id=key_id
    )
    if key is None:  # unknown, or another organization's: the same answer
        raise Http404("No such key in this organization.")
    return key


def _shown_once(request: HttpRequest, key: APIKey, full_key: str, *, action: str) -> HttpResponse:
    response = render(
        request,
        "dashboard/key_shown_once.html",
        {"key": key, "full_key": full_key, "action": action},
        status=201 if action == "created" else 200,
    )
    # The only response that carries the key: no cache, no back-button copy.
    response["Cache-Control"] = "no-store"
    return response


@workspace_required
def key_list(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    status = request.GET.get("status", "active")
    if status not in selectors.KEY_FILTERS:
        status = "active"
    keys = list(selectors.keys_of_organization(organization_id=ws.organization.pk, status=status))
    now = timezone.now()
    # Reversed once and filled in per key: 25 rows of {% url %} were a third of
    # the page's render time.
    url = reverse("dashboard:key", args=[_PLACEHOLDER])
    rows = []
    for k in keys:
        detail = url.replace(str(_PLACEHOLDER), str(k.pk))
        rows.append(
            {
                "key": k,
                "status": k.status_at(now),
                "may_manage": ws.may_manage(k),
                "url": detail,
                "regenerate_url": detail + "regenerate",
                "revoke_url": detail + "revoke",
            }
        )
    return render(
        request,
        "dashboard/keys.html",
        {"rows": rows, "status": status, "filters": selectors.KEY_FILTERS},
    )


def _claim_token(org_id: object, token: str) -> tuple[bool, str | None]:
    """(first use?, the key id a first use made). Fails open without a cache:
    the token only guards against a double click."""
    name = f"dashboard:form:{org_id}:{token}"
    try:
        if cache.add(name, "pending", FORM_TOKEN_SECONDS):
            return True, None
        return False, cache.get(name)
    except Exception:
        logger.exception("Cache unavailable: the create form's token is not checked")
        return True, None


def _remember_token(org_id: object, token: str, value: str | None) -> None:
    name = f"dashboard:form:{org_id}:{token}"
    try:
        if value is None:
            cache.delete(name)  # nothing was made: the corrected form may use it again
        else:
            cache.set(name, value, FORM_TOKEN_SECONDS)
    except Exception:
        logger.exception("Cache unavailable: could not record the create form's token")


@workspace_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    if not ws.may_create_key:
        return forbidden(request, "Your role cannot create keys.")
    if request.method == "GET":
        form = KeyCreateForm(
            initial={"form_token": FormTokenMixin.new_token()},
            may_grant_all=ws.may_grant(["keys", "billing"]),
        )
        return render(request, "dashboard/key_create.html", {"form": form})
    form = KeyCreateForm(request.POST, may_grant_all=ws.may_grant(["keys", "billing"]))
    if form.is_valid() and not ws.may_grant(form.cleaned_data["permissions"]):
        form.add_error(
            "permissions",
            "As a member, choose the key's permissions; keys and billing are for admins.",
        )
        return _create_again(request, form, status=403)
    if form.is_valid():
        token = form.cleaned_data["form_token"]
        first, made = _claim_token(ws.organization.pk, token)
        if not first:
            messages.warning(
                request,
                "This form was already submitted, and that submission created the key. "
                "Its secret was shown once and cannot be shown again: regenerate the key "
                "if you did not copy it.",
            )
            if made and selectors.key_of_organization(
                organization_id=ws.organization.pk, key_id=made
            ):
                return redirect("dashboard:key", key_id=made)
            return redirect("dashboard:keys")
        try:
            key, full_key = services.apikey_create(
                organization=ws.organization.pk,
                created_by=ws.user.pk,
                actor_ip=client_ip(request),
                **form.service_arguments(),
            )
        except ServiceError as exc:
            _remember_token(ws.organization.pk, token, None)
            add_service_errors(form, exc, KeyCreateForm.SERVICE_FIELDS)
            return _create_again(request, form, status=409 if isinstance(exc, Conflict) else 400)
        _remember_token(ws.organization.pk, token, str(key.pk))
        return _shown_once(request, key, full_key, action="created")
    return _create_again(request, form, status=400)


def _create_again(request: HttpRequest, form: KeyCreateForm, *, status: int) -> HttpResponse:
    """The form back with its errors and a fresh token."""
    data = request.POST.copy()
    data["form_token"] = FormTokenMixin.new_token()
    form.data = data
    return render(request, "dashboard/key_create.html", {"form": form}, status=status)


@workspace_required
def key_detail(request: HttpRequest, key_id: uuid.UUID) -> HttpResponse:
    ws = request.workspace
    key = _key_or_404(request, key_id)
    series = usage_by_day(
        organization_id=ws.organization.pk, key_id=key.pk, today=timezone.now().date()
    )
    return render(
        request,
        "dashboard/key_detail.html",
        {
            "key": key,
            "status": key.status_at(timezone.now()),
            "may_manage": ws.may_manage(key),
            "events": selectors.key_events(key_id=key.pk),
            "chart": bar_chart(series),
        },
    )


@workspace_required
@require_http_methods(["GET", "POST"])
def key_regenerate(request: HttpRequest, key_id: uuid.UUID) -> HttpResponse:
    ws = request.workspace
    key = _key_or_404(request, key_id)
    if not ws.may_manage(key):
        return forbidden(request, "Members can regenerate only the keys they created.")
    if not ws.may_grant(key.permissions):
        return forbidden(
            request,
            "This key holds permissions your role cannot grant (keys, billing or all of "
            "them); an owner or admin can regenerate it.",
        )
    form = KeyRegenerateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                key, full_key = services.apikey_regenerate(
                    key=key,
                    grace_period_seconds=form.cleaned_data["grace_period"],
                    actor_id=ws.user.pk,
                    actor_ip=client_ip(request),
                )
            except (ValidationFailed, Conflict) as exc:
                add_service_errors(form, exc, KeyRegenerateForm.SERVICE_FIELDS)
                status = 409 if isinstance(exc, Conflict) else 400
            else:
                return _shown_once(request, key, full_key, action="regenerated")
    return render(
        request, "dashboard/key_regenerate.html", {"key": key, "form": form}, status=status
    )


@workspace_required
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, key_id: uuid.UUID) -> HttpResponse:
    ws = request.workspace
    key = _key_or_404(request, key_id)
    if not ws.may_manage(key):
        return forbidden(request, "Members can revoke only the keys they created.")
    if request.method == "POST":
        if key.revoked_at is None:
            services.apikey_revoke(key=key, actor_id=ws.user.pk, actor_ip=client_ip(request))
            messages.success(request, f"Key “{key.name}” revoked. It stopped working at once.")
        else:
            messages.info(request, f"Key “{key.name}” was already revoked.")
        return redirect("dashboard:key", key_id=key.pk)
    return render(request, "dashboard/key_revoke.html", {"key": key})
