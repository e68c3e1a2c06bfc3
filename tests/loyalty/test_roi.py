"""The loyalty ROI page: members of a month against later joiners in the month after, from real rows."""

import csv
import io
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty import roi
from loyalty.models import Account, Bucket, LedgerEntry, Reason
from merchants.models import AuditEvent
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def _month(months_back: int, zone) -> datetime:
    today = timezone.localtime(timezone.now(), zone).date()
    index = today.year * 12 + today.month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=zone)


@pytest.fixture
def enrolments(merchant):
    """Three months ago 13 shoppers known before joined (12 bought once for 10.00 in the 90 days before, one
    twice); 15 who had also bought once for 10.00 joined last month. In the month between, 10 of the 12 members
    spent 30.00 and one redeemed 500 points; 10 of the later joiners spent 10.00. One shopper first known when
    joining three months ago is left out."""
    zone = zoneinfo.ZoneInfo(merchant.timezone)
    program = ProgramFactory(merchant=merchant)
    joined, following, later = _month(3, zone), _month(2, zone), _month(1, zone)

    def shopper(*, enrolled_at, before=(1000,), after=0, known_before=True):
        person = ShopperFactory(merchant=merchant)
        person.created_at = joined - timedelta(days=100) if known_before else enrolled_at
        person.save(update_fields=["created_at"])
        account = Account.objects.create(
            merchant=merchant, program=program, shopper=person, enrolled_at=enrolled_at, enrolled_via="kiosk"
        )
        for days, amount in enumerate(before, start=20):
            PurchaseFactory(
                merchant=merchant, shopper=person, amount_minor=amount, occurred_at=joined - timedelta(days=days)
            )
        if after:
            PurchaseFactory(
                merchant=merchant, shopper=person, amount_minor=after, occurred_at=following + timedelta(days=5)
            )
        return account

    members = [shopper(enrolled_at=joined + timedelta(days=3), after=3000 if i < 10 else 0) for i in range(12)]
    shopper(enrolled_at=joined + timedelta(days=4), before=(1000, 1000), after=5000)  # nobody later is like them
    shopper(enrolled_at=joined + timedelta(days=5), known_before=False, after=9000)
    for i in range(15):
        shopper(enrolled_at=later + timedelta(days=2), after=1000 if i < 10 else 0)
    LedgerEntry.objects.create(
        merchant=merchant,
        account=members[0],
        bucket=Bucket.AVAILABLE,
        points=-500,
        reason=Reason.REDEMPTION,
        created_at=following + timedelta(days=6),
    )
    return program, joined.date()


def test_members_of_a_month_against_later_joiners_with_the_programs_cost(merchant, enrolments):
    program, joined = enrolments

    data = roi.loyalty_roi(merchant=merchant, program=program)

    assert [month for month, _figures in data.months] == [joined]
    figures = data.months[0][1]
    # 13 members known before joining; 12 compared with the 15 later joiners like them
    assert (figures.members, figures.matched, figures.comparison) == (13, 12, 15)
    assert figures.spend_per_member_minor == 2500
    assert figures.spend_per_comparable_minor == 667
    assert figures.per_member.estimate == pytest.approx(2500 - 10_000 / 15)
    assert figures.per_member.low < figures.per_member.estimate < figures.per_member.high
    # 500 points at the program's point value (1 minor unit each)
    assert figures.cost_minor == 500
    assert figures.incremental_minor[0] == 22_000
    assert figures.net_minor[0] == 21_500
    assert figures.roi_percent[0] == 4300
    # the total over months is this one month; the stores: everyone is without a home store
    assert data.total.per_member_minor == figures.per_member_minor
    assert [store.label for store in data.stores] == ["No home store"]


def test_the_page_and_its_csv(merchant, enrolments, owner, owner_client):
    _program, joined = enrolments

    page = owner_client.get(reverse("loyalty:roi")).content.decode()
    response = owner_client.get(reverse("loyalty:roi_csv"))

    assert 'id="roi-months"' in page and joined.strftime("%b %Y") in page
    assert "12 / 13" in page
    assert "shoppers who joined two months or more later" in page
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["kind", "month_or_store", "members", "members_compared"]
    month_row = rows[1]
    assert month_row[:5] == ["enrolment month", joined.strftime("%b %Y"), "13", "12", "15"]
    assert month_row[5:7] == ["25.00", "6.67"]
    assert month_row[10] == "5.00" and month_row[11] == "215.00"
    assert [row[0] for row in rows[1:]] == ["enrolment month", "store", "total"]
    # an export is a staff action on data: it is in the audit log
    assert AuditEvent.objects.filter(merchant=merchant, actor=owner, action="loyalty_roi.exported").exists()


def test_not_enough_data_is_said_in_words(merchant, owner_client):
    ProgramFactory(merchant=merchant)
    page = owner_client.get(reverse("loyalty:roi")).content.decode()
    assert "Not enough data yet" in page


def test_an_analyst_may_look_and_another_merchant_sees_nothing_of_ours(
    merchant, enrolments, client_for, analyst, outsider_client
):
    assert client_for(analyst).get(reverse("loyalty:roi")).status_code == 200
    # the outsider's merchant has no program: 404, and nothing of ours in any case
    assert outsider_client.get(reverse("loyalty:roi")).status_code == 404
    assert outsider_client.get(reverse("loyalty:roi_csv")).status_code == 404


def test_month_arithmetic_crosses_the_year():
    assert roi._month_start(date(2026, 2, 14), 3) == date(2025, 11, 1)
    assert roi._month_start(date(2026, 12, 3), 0) == date(2026, 12, 1)
