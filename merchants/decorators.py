from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from merchants.permissions import role_has_permission


def user_has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def merchant_permission_required(
    permission: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Staff of the current merchant holding `permission` only.

    Signed-out visitors go to sign-in; people with no membership see a page
    explaining how to get one; a role without the permission gets a 403 page.
    Objects of other merchants are never reached: views fetch them through
    selectors scoped to request.merchant, which 404.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:
                return render(request, "merchants/no_membership.html", status=403)
            if membership.merchant.require_mfa and not user_has_totp(request.user):
                messages.warning(
                    request,
                    f"{membership.merchant.name} requires two-factor sign-in. Set up an authenticator app to continue.",
                )
                return redirect("mfa_activate_totp")
            if not role_has_permission(membership.role, permission):
                return render(request, "merchants/forbidden.html", {"permission": permission}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
