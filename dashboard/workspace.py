"""The signed-in person's place in the dashboard: their active organization and
role, and what the role allows (asked of accounts.roles, which decides)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import roles
from accounts.authentication import ACTIVE_ORG_SESSION_KEY
from accounts.models import Membership, Organization
from accounts.selectors import active_membership, memberships_of


@dataclass(frozen=True)
class Workspace:
    user: Any
    membership: Membership
    memberships: list[Membership]

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def may_see_billing(self) -> bool:
        return roles.may_see_billing(self.role)

    @property
    def may_change_roles(self) -> bool:
        return roles.may_change_roles(self.role)

    @property
    def may_create_key(self) -> bool:
        return roles.may_create_key(self.role)

    def may_grant(self, permissions: Any) -> bool:
        return roles.may_grant(role=self.role, permissions=list(permissions))

    def may_manage(self, key: Any) -> bool:
        return roles.may_manage_key(
            role=self.role, user_id=self.user.pk, key_created_by_id=key.created_by_id
        )


def workspace_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required; `request.workspace` set for the view. A user who belongs
    to no organization (removed from their last one) gets a page saying so."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return redirect_to_login(request.get_full_path())
        memberships = memberships_of(user_id=user.pk)
        membership = active_membership(memberships, request.session.get(ACTIVE_ORG_SESSION_KEY))
        if membership is None:
            return render(request, "dashboard/no_organization.html", status=403)
        request.workspace = Workspace(user=user, membership=membership, memberships=memberships)
        return view(request, *args, **kwargs)

    return wrapped


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page of a refused action (a member's forged POST, say)."""
    return render(request, "dashboard/forbidden.html", {"message": message}, status=403)
