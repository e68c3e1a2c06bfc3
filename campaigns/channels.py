"""The channels a campaign message is handed to: email through Django's email backend, SMS through profiles.sms.

`deliver()` hands each message over and reports, per message, when it was handed over and the provider's
id, or the error. `ChannelUnavailable` means nothing at all was handed over (the connection could not
be opened), so the sender may safely try again later.

`TwilioBackend` is an SMS backend (`SMS_BACKEND=campaigns.channels.TwilioBackend`) for Twilio's REST API,
over HTTPS with the standard library; inbound STOP replies arrive at `campaigns.api.TwilioInboundApi`.
"""

import base64
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from profiles import sms


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    to: str
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    message_id: int
    handed_at: datetime
    provider_id: str = ""
    error: str = ""


class ChannelUnavailable(Exception):
    """The channel could not be reached: no message of the batch was handed over."""


class EmailChannel:
    def __init__(self, *, from_email: str | None = None, reply_to: str = "") -> None:
        self.from_email = from_email or settings.DEFAULT_FROM_EMAIL
        self.reply_to = [reply_to] if reply_to else None

    def deliver(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except Exception as error:
            raise ChannelUnavailable(str(error)) from error
        deliveries = []
        try:
            for message in messages:
                email = EmailMessage(
                    subject=message.subject,
                    body=message.body,
                    from_email=self.from_email,
                    to=[message.to],
                    reply_to=self.reply_to,
                    headers=message.headers,
                    connection=connection,
                )
                try:
                    email.send()
                except Exception as error:
                    deliveries.append(Delivery(message.message_id, timezone.now(), error=str(error)[:200]))
                    continue
                # django-anymail reports the ESP's message id; Django's own backends have none.
                status = getattr(email, "anymail_status", None)
                provider_id = str(getattr(status, "message_id", "") or "")
                deliveries.append(Delivery(message.message_id, timezone.now(), provider_id=provider_id))
        finally:
            connection.close()
        return deliveries


class SmsChannel:
    def __init__(self) -> None:
        self.backend = sms.get_backend()

    def deliver(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        deliveries = []
        send_one = getattr(self.backend, "send_message", None)
        for message in messages:
            text = sms.TextMessage(to=message.to, body=message.body)
            try:
                provider_id = send_one(text) if send_one is not None else ""
                if send_one is None:
                    self.backend.send_messages([text])
            except ProviderUnavailable as error:
                if not deliveries:
                    raise ChannelUnavailable(str(error)) from error
                deliveries.append(Delivery(message.message_id, timezone.now(), error=str(error)[:200]))
            except Exception as error:
                deliveries.append(Delivery(message.message_id, timezone.now(), error=str(error)[:200]))
            else:
                deliveries.append(Delivery(message.message_id, timezone.now(), provider_id=provider_id or ""))
        return deliveries


def channel_for(channel: str, *, from_email: str | None = None, reply_to: str = "") -> EmailChannel | SmsChannel:
    if channel == "sms":
        return SmsChannel()
    return EmailChannel(from_email=from_email, reply_to=reply_to)


# Twilio


class ProviderError(Exception):
    """The provider refused the message (an HTTP 4xx/5xx with its error)."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached: the request did not get through."""


class TwilioBackend(sms.BaseBackend):
    """Sends each text with one POST to Twilio's Messages resource; returns Twilio's message SID.

    Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM_NUMBER or
    TWILIO_MESSAGING_SERVICE_SID; TWILIO_API_BASE only for a local test server.
    """

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str | None = None,
        timeout: float = 10,
    ) -> None:
        self.account_sid = account_sid or settings.TWILIO_ACCOUNT_SID
        self.auth_token = auth_token or settings.TWILIO_AUTH_TOKEN
        self.from_number = from_number if from_number is not None else settings.TWILIO_FROM_NUMBER
        self.messaging_service_sid = (
            messaging_service_sid if messaging_service_sid is not None else settings.TWILIO_MESSAGING_SERVICE_SID
        )
        self.api_base = (api_base or settings.TWILIO_API_BASE).rstrip("/")
        self.timeout = timeout
        if not (self.account_sid and self.auth_token and (self.from_number or self.messaging_service_sid)):
            raise ValueError("TwilioBackend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and a sender.")

    def send_message(self, message: sms.TextMessage) -> str:
        fields = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        else:
            fields["From"] = self.from_number
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the URL is settings-controlled (https in production)
            f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            data=urlencode(fields).encode(),
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise ProviderError(f"Twilio refused the message ({error.code}): {detail}") from error
        except urllib.error.URLError as error:
            # Only a refused connection or an unknown host surely sent nothing; a timeout may have.
            if isinstance(error.reason, ConnectionRefusedError | socket.gaierror):
                raise ProviderUnavailable(f"Twilio could not be reached: {error.reason}") from error
            raise ProviderError(f"Twilio did not answer: {error.reason}") from error
        except (TimeoutError, ConnectionError) as error:
            raise ProviderError(f"Twilio did not answer: {error}") from error
        return str(payload.get("sid", ""))

    def send_messages(self, messages: Sequence[sms.TextMessage]) -> int:
        for message in messages:
            self.send_message(message)
        return len(messages)
