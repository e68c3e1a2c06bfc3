"""A fresh demo shows every feature: kiosks and a Wi-Fi portal, duplicates to merge, shoppers of both mall
merchants, redemptions over time, a sender name, the survey link, and insight pages that are not empty."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from campaigns.models import CampaignSettings, MessageTemplate, Trigger
from insights.models import InsightSnapshot
from loyalty.models import Redemption
from merchants.models import Merchant, User
from profiles.models import Shopper, SignupPoint
from profiles.selectors import duplicate_candidates

pytestmark = pytest.mark.django_db


def test_a_fresh_demo_has_something_to_show_on_every_page():
    call_command("seed_demo", demo_shoppers=400, demo_purchases=3000)
    northwind, coffee = Merchant.objects.get(slug="northwind"), Merchant.objects.get(slug="blue-bean")

    for merchant in (northwind, coffee):
        assert set(SignupPoint.objects.filter(merchant=merchant).values_list("kind", flat=True)) == {"kiosk", "wifi"}
        assert len(duplicate_candidates(merchant=merchant)) >= 4
        assert CampaignSettings.objects.get(merchant=merchant).sender_name
        feedback_bodies = MessageTemplate.objects.filter(
            merchant=merchant, variant__campaign__trigger=Trigger.FEEDBACK_REQUEST
        ).values_list("body", flat=True)
        assert feedback_bodies and all("{{ feedback_url }}" in body for body in feedback_bodies)
        days = {at.date() for at in Redemption.objects.filter(merchant=merchant).values_list("created_at", flat=True)}
        assert len(days) >= 5 and (max(days) - min(days)).days > 30
        assert InsightSnapshot.objects.filter(merchant=merchant, section="meta").exists()

    # Mall shoppers: Northwind's cross-shopping cells show Blue Bean's categories, above the floor of 10.
    network = InsightSnapshot.objects.get(merchant=northwind, section="network").data["networks"][0]
    assert any(
        cell["merchant"] == "Blue Bean Coffee" and (cell["shoppers"] or 0) >= 10 for cell in network["elsewhere"]
    )

    client = Client()
    client.force_login(User.objects.get(email="owner@northwind.demo"))
    for name in ("insights:overview", "insights:lifecycle", "insights:products", "insights:network"):
        page = client.get(reverse(name)).content.decode()
        assert "No shoppers with purchases yet" not in page, name
    home = client.get(reverse("dashboard")).content.decode()
    assert "Shopper-level insights have not been computed yet" not in home

    # A second run adds nothing.
    shoppers, points = Shopper.all_merchants.count(), SignupPoint.all_merchants.count()
    call_command("seed_demo", demo_shoppers=400, demo_purchases=3000)
    assert (Shopper.all_merchants.count(), SignupPoint.all_merchants.count()) == (shoppers, points)
