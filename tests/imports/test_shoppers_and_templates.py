from imports.models import ConsentProof, ImportStatus, ShopperKey
from loyalty.models import Account, LedgerEntry, Reason
from profiles.models import ConsentEvent, ContactPoint, Purchase, Shopper
from tests.imports.files import csv_bytes
from tests.loyalty.factories import ProgramFactory, TierFactory

SHOPIFY_CUSTOMERS = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Country Code",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
]
SQUARE_CUSTOMERS = [
    "First Name",
    "Last Name",
    "Email Address",
    "Phone Number",
    "Nickname",
    "Company Name",
    "Street Address 1",
    "Street Address 2",
    "City",
    "State",
    "Postal Code",
    "Birthday",
    "Memo",
    "Reference ID",
    "Status",
    "Creation Source",
    "First Visit",
    "Last Visit",
    "Transaction Count",
    "Lifetime Spend",
    "Email Subscription Status",
    "Square Customer ID",
]
SHOPIFY_ORDERS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Currency",
    "Subtotal",
    "Total",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Id",
    "Location",
    "Phone",
]


def test_a_shopify_customers_export_maps_without_manual_columns(merchant, owner, run_import):
    rows = [
        [
            "7021234567890",
            "지현",
            "김",
            "jihyun@example.com",
            "yes",
            "",
            "",
            "KR",
            "+82 10 1234 5678",
            "no",
            "120.00",
            "3",
            "",
            "no",
            "",
        ],
        ["7021234567891", "Mei", "Chen", "MEI@example.com", "no", "", "", "TW", "", "", "0", "0", "", "no", ""],
    ]
    # the 13-digit Shopify ids pass Luhn one time in ten: the template's id column is not read as a card number
    job = run_import(csv_bytes(rows, SHOPIFY_CUSTOMERS), kind="shoppers", name="customers_export.csv")

    assert job.template == "shopify_customers" and job.status == ImportStatus.DONE and job.created_count == 2
    jihyun = ShopperKey.objects.get(merchant=merchant, system="shopify", external_id="7021234567890").shopper
    assert (jihyun.first_name, jihyun.joined_via) == ("지현", "import")
    assert set(ContactPoint.objects.filter(shopper=jihyun).values_list("value", flat=True)) == {
        "jihyun@example.com",
        "+821012345678",
    }
    consents = {(e.channel, e.is_granted, e.source) for e in ConsentEvent.objects.filter(shopper=jihyun)}
    assert consents == {("email", True, "import"), ("sms", False, "import")}
    proof = ConsentProof.objects.get(merchant=merchant, consent_event__shopper=jihyun, consent_event__channel="email")
    assert (proof.file_name, proof.imported_by, proof.line) == ("customers_export.csv", owner, 2)

    # importing the same file again adds nothing
    again = run_import(csv_bytes(rows, SHOPIFY_CUSTOMERS), kind="shoppers")
    assert again.created_count == 0
    assert Shopper.objects.for_merchant(merchant).count() == 2
    assert ConsentEvent.objects.for_merchant(merchant).count() == 3


def test_a_square_customer_directory_export_maps_and_keeps_the_consent_date(merchant, run_import):
    row = [
        "Layla",
        "Haddad",
        "layla@example.com",
        "+971 50 123 4567",
        "",
        "",
        "",
        "",
        "Dubai",
        "",
        "",
        "1990-04-02",
        "",
        "",
        "",
        "Square Point of Sale",
        "2022-01-01",
        "2024-01-01",
        "12",
        "340.00",
        "subscribed",
        "SQ-77",
    ]
    job = run_import(csv_bytes([row], SQUARE_CUSTOMERS), kind="shoppers")

    assert job.template == "square_customers" and job.status == ImportStatus.DONE
    layla = ShopperKey.objects.get(merchant=merchant, system="square", external_id="SQ-77").shopper
    assert str(layla.birthday) == "1990-04-02"
    proof = ConsentProof.objects.get(merchant=merchant, consent_event__shopper=layla)
    assert proof.original_source == "Square Point of Sale"


def test_a_shopify_orders_export_maps_one_row_per_line_item(merchant, run_import):
    rows = [
        [
            "#1001",
            "a@example.com",
            "paid",
            "",
            "USD",
            "30.00",
            "32.50",
            "2024-05-01 10:00:00 -0400",
            "2",
            "Tee",
            "10.00",
            "T-1",
            "5123456789013",
            "",
            "",
        ],
        ["#1001", "a@example.com", "", "", "", "", "", "", "1", "Cap", "12.50", "C-1", "", "", ""],
        [
            "#1002",
            "b@example.com",
            "refunded",
            "",
            "USD",
            "5.00",
            "5.00",
            "2024-05-02 09:00:00 -0400",
            "1",
            "Pin",
            "5.00",
            "P-1",
            "5123456789021",
            "",
            "",
        ],
    ]
    job = run_import(csv_bytes(rows, SHOPIFY_ORDERS))

    assert job.template == "shopify_orders" and job.status == ImportStatus.DONE and job.created_count == 2
    first = Purchase.objects.for_merchant(merchant).get(external_id="#1001")
    assert (first.amount_minor, first.currency, first.channel) == (3250, "USD", "online")
    assert first.occurred_at.isoformat() == "2024-05-01T14:00:00+00:00"
    assert sorted(first.line_items.values_list("name", "quantity", "unit_price_minor")) == [
        ("Cap", 1, 1250),
        ("Tee", 2, 1000),
    ]
    refunded = Purchase.objects.for_merchant(merchant).get(external_id="#1002")
    assert (refunded.state, refunded.refunded_minor) == ("refunded", 500)


def test_loyalty_balances_and_tiers_open_once_as_import_entries(merchant, run_import):
    program = ProgramFactory(merchant=merchant)
    TierFactory(merchant=merchant, program=program, name="Gold", threshold=1000)
    run_import(csv_bytes([["C-1", "ana@example.com"]], ["customer_id", "email"]), kind="shoppers")
    data = csv_bytes([["ana@example.com", "750", "gold"]], ["email", "points_balance", "tier"])

    job = run_import(data, kind="loyalty")
    again = run_import(data, kind="loyalty")

    assert job.status == ImportStatus.DONE and again.created_count == 0
    account = Account.objects.for_merchant(merchant).get()
    assert (account.points_balance, account.tier.name) == (750, "Gold")
    assert list(LedgerEntry.objects.for_merchant(merchant).values_list("reason", "points")) == [(Reason.IMPORT, 750)]


def test_a_balance_for_an_unknown_shopper_is_a_row_error(merchant, run_import):
    ProgramFactory(merchant=merchant)
    job = run_import(csv_bytes([["nobody@example.com", "10"]], ["email", "points_balance"]), kind="loyalty")
    assert job.status == ImportStatus.INVALID and job.row_errors.get().code == "unknown_shopper"


def test_card_tokens_are_linked_and_a_phone_needs_its_country_code(merchant, run_import):
    header = ["customer_id", "email", "phone", "card_token", "card_last_four", "card_scheme"]
    good = csv_bytes([["K-1", "k@example.com", "0082 10 9876 5432", "tok_visa_123", "4242", "visa"]], header)

    job = run_import(good, kind="shoppers")

    shopper = ShopperKey.objects.get(merchant=merchant, external_id="K-1").shopper
    card = shopper.cards.get()
    assert (card.token, card.last_four, card.scheme, card.linked_via) == ("tok_visa_123", "4242", "visa", "import")
    assert ContactPoint.objects.filter(shopper=shopper, value="+821098765432").exists()
    assert job.created_count == 1

    local = run_import(csv_bytes([["K-2", "", "010 1234 5678", "", "", ""]], header), kind="shoppers")
    assert local.status == ImportStatus.INVALID and local.row_errors.get().code == "invalid_phone"


def test_a_card_number_in_the_token_column_refuses_the_file(merchant, owner):
    import io

    import pytest

    from core.errors import ApplicationError
    from imports.models import ImportJob
    from imports.services.jobs import job_create

    header = ["customer_id", "card_token", "card_last_four"]
    with pytest.raises(ApplicationError) as refused:
        job_create(
            merchant=merchant,
            actor=owner,
            kind="shoppers",
            upload=io.BytesIO(csv_bytes([["C-1", "4000056655665556", "5556"]], header)),
            file_name="cards.csv",
        )
    assert refused.value.code == "card_number_in_file" and "rows 2 " in refused.value.message
    assert not ImportJob.objects.for_merchant(merchant).exists()


def test_phones_without_a_country_code_are_read_in_the_chosen_country(merchant, owner):
    import io

    from imports.services.jobs import job_check, job_create, job_load, job_start

    header = ["customer_id", "phone", "email_marketing"]
    data = csv_bytes([["P-1", "(415) 555-0123", "Unknown"]], header)
    job = job_create(
        merchant=merchant, actor=owner, kind="shoppers", upload=io.BytesIO(data), file_name="p.csv", phone_region="US"
    )
    job = job_load(job=job_start(job=job_check(job=job), actor=owner))

    shopper = ShopperKey.objects.get(merchant=merchant, external_id="P-1").shopper
    assert list(ContactPoint.objects.filter(shopper=shopper).values_list("value", flat=True)) == ["+14155550123"]
    assert not ConsentEvent.objects.filter(shopper=shopper).exists()  # "Unknown" decides nothing


def test_a_square_loyalty_export_opens_balances_of_square_customers(merchant, run_import):
    ProgramFactory(merchant=merchant)
    customer = [
        "Min",
        "Park",
        "min@example.com",
        "+1 415 555 0199",
        *[""] * 7,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "subscribed",
        "SQ-1",
    ]
    run_import(csv_bytes([customer], SQUARE_CUSTOMERS), kind="shoppers")
    loyalty = csv_bytes(
        [["SQ-1", "Min Park", "+1 415 555 0199", "320", "1200"]],
        ["Square Customer ID", "Name", "Phone Number", "Points Balance", "Lifetime Points"],
    )

    job = run_import(loyalty, kind="loyalty")

    assert job.template == "square_loyalty" and job.status == ImportStatus.DONE
    assert Account.objects.for_merchant(merchant).get().points_balance == 320


def test_an_export_uploaded_as_the_wrong_kind_is_refused_with_the_right_one_named(merchant, run_import):
    import pytest

    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        run_import(csv_bytes([["1", "Ana"]], ["Customer ID", "First Name", "Accepts Email Marketing"]))
    assert refused.value.code == "wrong_kind"
    assert "Shopify customers export" in refused.value.message
