from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.http import HttpRequest
from django.urls import reverse

from core.errors import ApplicationError
from merchants.services import invitation_get_open


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts exist by invitation: sign-up is open only to someone holding one."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(request.session.get("pending_invitation_token"))

    def clean_email(self, email: str) -> str:
        """An invitation opens sign-up for the address it was sent to, and no other."""
        email = super().clean_email(email)
        token = self.request.session.get("pending_invitation_token") if self.request else None
        if token:
            try:
                invited = invitation_get_open(token=token).email
            except ApplicationError as error:
                raise forms.ValidationError(error.message) from error
            if email.lower() != invited:
                raise forms.ValidationError(f"Sign up with {invited}, the address this invitation was sent to.")
        return email

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        token = request.session.get("pending_invitation_token")
        if token:
            return reverse("invitation_accept", args=[token])
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return self.get_login_redirect_url(request)
