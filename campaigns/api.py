"""Provider webhooks: inbound SMS replies from Twilio (STOP withdraws consent).

Email bounces and complaints arrive at django-anymail's tracking webhooks (campaigns/api_urls.py), which
authenticate the ESP (basic auth with ANYMAIL_WEBHOOK_SECRET, plus the ESP's own signature where it has
one) and send anymail's `tracking` signal; campaigns.receivers.on_esp_tracking writes the ledger.
"""

import base64
import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.services.suppression import sms_stop_record
from profiles.links import absolute_url

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


def twilio_signature(*, auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL followed by each POST field's name and value, sorted."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """An SMS a shopper sent to our number. Signed by Twilio with the account's auth token, else 403."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return HttpResponse(status=404)
    params = {name: request.POST.get(name, "") for name in request.POST}
    # The URL Twilio called, as configured there: on SITE_URL (a proxy in front may rewrite the host).
    expected = twilio_signature(auth_token=token, url=absolute_url(request.get_full_path()), params=params)
    if not hmac.compare_digest(expected, request.headers.get(TWILIO_SIGNATURE_HEADER, "")):
        return HttpResponse(status=403)
    sms_stop_record(from_number=params.get("From", ""), body=params.get("Body", ""), provider="twilio")
    # An empty TwiML answer: Twilio itself confirms the opt-out to the shopper.
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml")
