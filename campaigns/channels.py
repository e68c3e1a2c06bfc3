"""The channels a campaign message is handed to: email through Django's email backend, SMS through profiles.sms.

`deliver()` hands each message over and reports, per message, when it was handed over and the provider's
id, or the error. `ChannelUnavailable` means nothing at all was handed over (the connection could not
be opened), so the sender may safely try again later.

`TwilioBackend` is an SMS backend (`SMS_BACKEND=campaigns.channels.TwilioBackend`) for Twilio's REST API,
over HTTPS with the standard library; inbound STOP replies arrive at `campaigns.api.TwilioInboundApi`.

A message whose hand-off was interrupted (the worker died while the channel had it) may or may not have gone
out. Each channel says whether it can be handed over again without a second message reaching the shopper
(`resends_uncertain`):

- Email: yes. Every campaign email carries a `Message-ID` derived from its outbox id (and a deployment secret),
  the same on every attempt, so a mailbox that already holds it files the repeat as the same message; on an
  ESP that de-duplicates on a key of its own (`IDEMPOTENCY_HEADER_BY_BACKEND`) the repeat is not sent at all.
- SMS: no. Twilio's Messages API takes no idempotency key (a repeated POST is a second text), so an interrupted
  text is never sent again: the sender hands texts over one at a time so that at most the one in flight is lost.
"""

import base64
import contextlib
import json
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

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


# ESPs that drop a repeated send carrying the same key, by the header (passed through django-anymail) that
# holds it. Brevo keeps a key for 15-30 minutes; the sender resends an interrupted message within two.
IDEMPOTENCY_HEADER_BY_BACKEND = {
    "anymail.backends.brevo.EmailBackend": "idempotencyKey",
    "anymail.backends.sendinblue.EmailBackend": "idempotencyKey",
}


def message_id_header(message_id: int) -> str:
    """The `Message-ID` of an outbox message: the same on every attempt, distinct between deployments."""
    digest = salted_hmac("campaigns.channels.message_id", str(message_id)).hexdigest()[:16]
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2] or "storeloop.localhost"
    return f"<outbox.{message_id}.{digest}@{domain}>"


class EmailChannel:
    resends_uncertain = True
    # Rows marked "being handed over" per commit (waiting for the disk): the whole batch, since an interrupted
    # email goes again under its Message-ID whether or not its hand-off had begun.
    handoff_group = 500
    # Hand-offs recorded `sent` per statement, at most (the sender also records every 50 ms): a kill leaves
    # at most these handed over but not recorded, to go again under their Message-IDs. Measured on the send
    # path (300 emails, one process, against one statement per batch): a statement per email ran at a quarter
    # of the rate, per 10 at 70%, per 50 at 93%.
    record_group = 50

    def __init__(self, *, from_email: str | None = None, reply_to: str = "") -> None:
        self.from_email = from_email or settings.DEFAULT_FROM_EMAIL
        self.reply_to = [reply_to] if reply_to else None
        self.idempotency_header = IDEMPOTENCY_HEADER_BY_BACKEND.get(settings.EMAIL_BACKEND)
        self._connection = None

    @contextlib.contextmanager
    def opened(self) -> Iterator[None]:
        """One connection for many hand-offs; ChannelUnavailable if it cannot be opened (nothing handed over)."""
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except Exception as error:
            raise ChannelUnavailable(str(error)) from error
        self._connection = connection
        try:
            yield
        finally:
            self._connection = None
            connection.close()

    def hand_over(self, message: Outgoing) -> Delivery:
        """Hand one message over; call inside `opened()`."""
        headers = dict(message.headers)
        if message.message_id:  # 0 is a staff test send, with no outbox row
            headers["Message-ID"] = message_id_header(message.message_id)
            if self.idempotency_header:
                headers[self.idempotency_header] = str(uuid.uuid5(uuid.NAMESPACE_URL, headers["Message-ID"]))
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=self.from_email,
            to=[message.to],
            reply_to=self.reply_to,
            headers=headers,
            connection=self._connection,
        )
        try:
            email.send()
        except Exception as error:
            return Delivery(message.message_id, timezone.now(), error=str(error)[:200])
        # django-anymail reports the ESP's message id; Django's own backends have none.
        status = getattr(email, "anymail_status", None)
        provider_id = str(getattr(status, "message_id", "") or "")
        return Delivery(message.message_id, timezone.now(), provider_id=provider_id)

    def deliver(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        with self.opened():
            return [self.hand_over(message) for message in messages]


class SmsChannel:
    resends_uncertain = False
    # Each text is marked "being handed over" and recorded on its own: an interrupted text is never resent, so
    # the mark must cover only the one in flight (two commits per text are little next to the provider's call).
    handoff_group = 1
    record_group = 1

    def __init__(self) -> None:
        self.backend = sms.get_backend()

    @contextlib.contextmanager
    def opened(self) -> Iterator[None]:
        yield

    def hand_over(self, message: Outgoing) -> Delivery:
        """Hand one text over; ChannelUnavailable when the provider could not be reached (nothing handed over)."""
        send_one = getattr(self.backend, "send_message", None)
        text = sms.TextMessage(to=message.to, body=message.body)
        try:
            provider_id = send_one(text) if send_one is not None else ""
            if send_one is None:
                self.backend.send_messages([text])
        except ProviderUnavailable as error:
            raise ChannelUnavailable(str(error)) from error
        except Exception as error:
            return Delivery(message.message_id, timezone.now(), error=str(error)[:200])
        return Delivery(message.message_id, timezone.now(), provider_id=provider_id or "")

    def deliver(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        deliveries = []
        for message in messages:
            try:
                deliveries.append(self.hand_over(message))
            except ChannelUnavailable as error:
                if not deliveries:
                    raise
                deliveries.append(Delivery(message.message_id, timezone.now(), error=str(error)[:200]))
        return deliveries


def channel_for(channel: str, *, from_email: str | None = None, reply_to: str = "") -> EmailChannel | SmsChannel:
    if channel == "sms":
        return SmsChannel()
    return EmailChannel(from_email=from_email, reply_to=reply_to)


def resends_uncertain(channel: str) -> bool:
    """Whether a message of this channel whose hand-off was interrupted may be handed over again."""
    return (SmsChannel if channel == "sms" else EmailChannel).resends_uncertain


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
