"""Requests as the dashboard and the API see them, typed once instead of at every use."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from merchants.models import Merchant, MerchantAPIKey, StaffMembership, User


class StaffRequest(HttpRequest):
    """Any page request past CurrentMerchantMiddleware: the signed-in person's current membership, if any."""

    membership: StaffMembership | None
    merchant: Merchant | None
    htmx: HtmxDetails


class MerchantRequest(HttpRequest):
    """A dashboard request past `merchant_permission_required`: staff of `merchant`, signed in."""

    user: User
    membership: StaffMembership
    merchant: Merchant
    htmx: HtmxDetails


class APIRequest(Request):
    """An API request past MerchantAPIKeyAuthentication: the key and its merchant."""

    auth: MerchantAPIKey
    merchant: Merchant
