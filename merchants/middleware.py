from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from merchants.http import StaffRequest
from merchants.selectors import membership_for_user


class CurrentMerchantMiddleware:
    """Sets request.membership and request.merchant for signed-in staff.

    The API sets request.merchant from the API key instead (merchants.api_auth).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: StaffRequest) -> HttpResponse:
        request.membership = None
        request.merchant = None
        if request.user.is_authenticated and not request.path.startswith("/api/"):
            membership = membership_for_user(
                user=request.user, merchant_id=request.session.get(settings.CURRENT_MERCHANT_SESSION_KEY)
            )
            if membership is not None:
                request.membership = membership
                request.merchant = membership.merchant
        return self.get_response(request)
