"""Channels: SMS through the backend and the Twilio adapter (against a local fake server), and what comes back:
STOP replies, bounces and complaints withdraw consent in the ledger."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from django.core import mail
from django.test import override_settings

from campaigns.api import TWILIO_SIGNATURE_HEADER, twilio_signature
from campaigns.channels import ChannelUnavailable, Outgoing, ProviderError, SmsChannel, TwilioBackend
from campaigns.models import CampaignStatus, OutboxMessage, OutboxStatus
from campaigns.services import sending
from campaigns.services.assignment import Entry, entries_create
from profiles import sms
from profiles.models import ConsentEvent, ConsentSource
from tests.campaigns.engine.helpers import campaign_with_message, reachable_shopper

pytestmark = pytest.mark.django_db


def current(shopper, channel, purpose):
    event = (
        ConsentEvent.objects.filter(shopper=shopper, channel=channel, purpose=purpose)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    return event


def queue(campaign, shoppers):
    campaign.status = CampaignStatus.ACTIVE
    campaign.save(update_fields=["status"])
    return entries_create(campaign=campaign, entries=[Entry(shopper.pk, "broadcast") for shopper in shoppers])


def test_an_sms_campaign_texts_the_confirmed_number_with_a_way_out(merchant, daytime):
    shopper = reachable_shopper(merchant, channel="sms", first_name="Ada")
    campaign = campaign_with_message(merchant, channel="sms")
    queue(campaign, [shopper])

    sending.outbox_send()

    (text,) = sms.outbox
    assert text.to == shopper.contacts.get().value
    assert text.body.startswith("[A] Hi Ada")
    assert "STOP" in text.body and "/s/unsubscribe/" in text.body
    assert mail.outbox == []


# A local stand-in for Twilio's Messages resource


class FakeTwilio(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 201

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        fields = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        FakeTwilio.received.append({"path": self.path, "auth": self.headers["Authorization"], "fields": fields})
        self.send_response(FakeTwilio.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if FakeTwilio.status == 201:
            body = {"sid": f"SM{len(FakeTwilio.received):032d}", "status": "queued"}
        else:
            body = {"code": 21211, "message": "The 'To' number is not a valid phone number."}
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio():
    FakeTwilio.received = []
    FakeTwilio.status = 201
    server = HTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


TWILIO = {
    "SMS_BACKEND": "campaigns.channels.TwilioBackend",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "test-auth-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
}


def test_the_twilio_adapter_posts_each_text_and_keeps_the_message_sid(merchant, daytime, fake_twilio):
    shopper = reachable_shopper(merchant, channel="sms")
    campaign = campaign_with_message(merchant, channel="sms")
    queue(campaign, [shopper])

    with override_settings(**TWILIO, TWILIO_API_BASE=fake_twilio):
        sending.outbox_send()

    (request,) = FakeTwilio.received
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO['TWILIO_ACCOUNT_SID']}/Messages.json"
    expected = base64.b64encode(f"{TWILIO['TWILIO_ACCOUNT_SID']}:test-auth-token".encode()).decode()
    assert request["auth"] == f"Basic {expected}"
    assert request["fields"]["To"] == shopper.contacts.get().value
    assert request["fields"]["From"] == "+15005550006"
    message = OutboxMessage.objects.get(campaign=campaign)
    assert message.status == OutboxStatus.SENT
    assert message.provider_id == "SM" + "1".rjust(32, "0")


def test_a_refusal_by_twilio_fails_that_message_without_retrying(merchant, daytime, fake_twilio):
    FakeTwilio.status = 400
    backend = TwilioBackend(
        **{key.lower().removeprefix("twilio_"): value for key, value in TWILIO.items() if key.startswith("TWILIO")},
        api_base=fake_twilio,
    )

    with pytest.raises(ProviderError, match="not a valid phone number"):
        backend.send_message(sms.TextMessage(to="+31612345678", body="Hi"))


def test_twilio_out_of_reach_hands_nothing_over(fake_twilio):
    closed = fake_twilio.rsplit(":", 1)[0] + ":1"  # nothing listens on port 1
    with override_settings(**TWILIO, TWILIO_API_BASE=closed):
        channel = SmsChannel()
        with pytest.raises(ChannelUnavailable):
            channel.deliver([Outgoing(1, "+31612345678", "", "Hi")])


# STOP replies


def _signed_post(client, url, fields, token=None):
    signature = twilio_signature(
        auth_token=token or TWILIO["TWILIO_AUTH_TOKEN"], url=f"http://localhost:8000{url}", params=fields
    )
    return client.post(url, fields, headers={TWILIO_SIGNATURE_HEADER: signature})


@override_settings(TWILIO_AUTH_TOKEN="test-auth-token")
def test_a_stop_reply_withdraws_sms_consent(client, merchant, other_merchant):
    shopper = reachable_shopper(merchant, channel="sms")
    number = shopper.contacts.get().value
    unrelated = reachable_shopper(merchant, channel="sms")
    url = "/api/v1/campaigns/webhooks/twilio/inbound"

    response = _signed_post(client, url, {"From": number, "To": "+15005550006", "Body": " stop "})

    assert response.status_code == 200
    for purpose in ("marketing", "feedback"):
        event = current(shopper, "sms", purpose)
        assert (event.is_granted, event.source) == (False, ConsentSource.STOP_REPLY)
    assert current(unrelated, "sms", "marketing").is_granted is True
    # Twilio retries a webhook: nothing more is written.
    _signed_post(client, url, {"From": number, "To": "+15005550006", "Body": "STOP"})
    assert ConsentEvent.objects.filter(shopper=shopper, is_granted=False).count() == 2


@override_settings(TWILIO_AUTH_TOKEN="test-auth-token")
def test_an_unsigned_or_forged_reply_changes_nothing(client, merchant):
    shopper = reachable_shopper(merchant, channel="sms")
    fields = {"From": shopper.contacts.get().value, "Body": "STOP"}
    url = "/api/v1/campaigns/webhooks/twilio/inbound"

    assert client.post(url, fields).status_code == 403
    assert _signed_post(client, url, fields, token="someone-elses-token").status_code == 403
    assert current(shopper, "sms", "marketing").is_granted is True


@override_settings(TWILIO_AUTH_TOKEN="test-auth-token")
def test_a_reply_that_is_not_stop_changes_nothing(client, merchant):
    shopper = reachable_shopper(merchant, channel="sms")

    response = _signed_post(
        client, "/api/v1/campaigns/webhooks/twilio/inbound", {"From": shopper.contacts.get().value, "Body": "thanks!"}
    )

    assert response.status_code == 200
    assert current(shopper, "sms", "marketing").is_granted is True


# Bounces and complaints, through django-anymail's Postmark tracking webhook


POSTMARK_WEBHOOK = "/api/v1/campaigns/webhooks/esp/postmark/tracking/"
WEBHOOK_AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"hook:secret").decode()}


@pytest.fixture
def sent_email(merchant, daytime):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)
    queue(campaign, [shopper])
    sending.outbox_send()
    message = OutboxMessage.objects.get(campaign=campaign)
    OutboxMessage.all_merchants.filter(pk=message.pk).update(provider_id="pm-0001")  # as Postmark's id would be
    return shopper, message


@override_settings(ANYMAIL={"WEBHOOK_SECRET": "hook:secret"})
def test_a_hard_bounce_marks_the_message_and_withdraws_email_consent(client, sent_email):
    shopper, message = sent_email
    body = {"RecordType": "Bounce", "Type": "HardBounce", "MessageID": "pm-0001", "Email": message.to, "ID": 1}

    response = client.post(POSTMARK_WEBHOOK, json.dumps(body), content_type="application/json", **WEBHOOK_AUTH)

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == OutboxStatus.BOUNCED
    event = current(shopper, "email", "marketing")
    assert event.is_granted is False
    assert (event.source, event.source_ref) == ("bounce", "bounce via Postmark")


@override_settings(ANYMAIL={"WEBHOOK_SECRET": "hook:secret"})
def test_a_spam_complaint_withdraws_email_consent(client, sent_email):
    shopper, message = sent_email
    body = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "MessageID": "pm-0001", "Email": message.to}

    client.post(POSTMARK_WEBHOOK, json.dumps(body), content_type="application/json", **WEBHOOK_AUTH)

    assert current(shopper, "email", "marketing").is_granted is False
    assert current(shopper, "email", "feedback").is_granted is False
    assert current(shopper, "email", "marketing").source == "complaint"


@override_settings(ANYMAIL={"WEBHOOK_SECRET": "hook:secret"})
def test_the_esp_webhook_needs_its_secret(client, sent_email):
    shopper, message = sent_email
    body = {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "MessageID": "pm-0001", "Email": message.to}

    response = client.post(POSTMARK_WEBHOOK, json.dumps(body), content_type="application/json")

    assert response.status_code in (400, 401, 403)
    assert current(shopper, "email", "marketing").is_granted is True
