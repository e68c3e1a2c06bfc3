from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts exist by invitation: sign-up is open only to someone holding one."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(request.session.get("pending_invitation_token"))

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        token = request.session.get("pending_invitation_token")
        if token:
            return reverse("invitation_accept", args=[token])
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return self.get_login_redirect_url(request)
