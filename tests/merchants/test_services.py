import pytest

from core.errors import ApplicationError, ConflictError, NotFoundError
from merchants import services
from merchants.models import AuditEvent, StaffInvitation, StaffMembership
from merchants.permissions import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_merchant_create_makes_the_creator_owner():
    founder = UserFactory()

    merchant = services.merchant_create(name="Acme", slug="acme", owner=founder, timezone_name="Asia/Seoul")

    assert StaffMembership.objects.get(merchant=merchant, user=founder).role == Role.OWNER
    assert AuditEvent.objects.filter(merchant=merchant, action="merchant.created").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"timezone_name": "Nowhere/City"}, "timezone"), ({"currency": "euro"}, "currency")],
)
def test_merchant_create_rejects_bad_values_and_writes_nothing(kwargs, field):
    with pytest.raises(ApplicationError) as raised:
        services.merchant_create(name="Acme", slug="acme", owner=UserFactory(), **kwargs)

    assert field in raised.value.fields
    assert not StaffMembership.all_merchants.exists()


def test_duplicate_slug_is_a_conflict(merchant, owner):
    with pytest.raises(ConflictError):
        services.merchant_create(name="Again", slug=merchant.slug, owner=owner)


def test_location_ids_are_deduplicated_and_trimmed(merchant, owner):
    store = services.store_create(
        merchant=merchant, actor=owner, name="Dock", timezone_name="UTC", network_location_ids=[" A ", "A", "", "B"]
    )

    assert store.network_location_ids == ["A", "B"]


def test_the_same_location_id_may_serve_two_merchants(merchant, other_merchant, owner, outsider):
    services.store_create(merchant=merchant, actor=owner, name="One", timezone_name="UTC", network_location_ids=["X"])

    other = services.store_create(
        merchant=other_merchant, actor=outsider, name="Two", timezone_name="UTC", network_location_ids=["X"]
    )

    assert other.network_location_ids == ["X"]


def test_invitation_replaces_an_open_one(merchant, owner):
    first, _ = services.staff_invite(merchant=merchant, actor=owner, email="x@example.com", role=Role.ANALYST)
    second, _ = services.staff_invite(merchant=merchant, actor=owner, email="x@example.com", role=Role.MANAGER)

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert StaffInvitation.objects.filter(merchant=merchant, revoked_at__isnull=True).get() == second


def test_invitation_cannot_name_a_store_of_another_merchant(merchant, owner, other_store):
    with pytest.raises(NotFoundError):
        services.staff_invite(
            merchant=merchant, actor=owner, email="x@example.com", role=Role.STORE_STAFF, store=other_store
        )


def test_store_restriction_is_only_for_store_staff(merchant, owner, store):
    with pytest.raises(ApplicationError) as raised:
        services.staff_invite(merchant=merchant, actor=owner, email="x@example.com", role=Role.MANAGER, store=store)

    assert raised.value.code == "store_needs_store_staff"


def test_expired_invitation_is_refused(merchant, owner):
    invitation, token = services.staff_invite(merchant=merchant, actor=owner, email="x@example.com", role=Role.ANALYST)
    StaffInvitation.all_merchants.filter(pk=invitation.pk).update(expires_at=invitation.created_at)

    with pytest.raises(NotFoundError):
        services.invitation_accept(token=token, user=UserFactory(email="x@example.com"))


def test_second_owner_can_be_demoted(merchant, owner):
    second = StaffMembership.objects.create(merchant=merchant, user=UserFactory(), role=Role.OWNER)

    services.membership_change_role(membership=second, actor=owner, role=Role.ANALYST, store=None)

    assert StaffMembership.all_merchants.get(pk=second.pk).role == Role.ANALYST


def test_api_key_needs_known_scopes(merchant):
    with pytest.raises(ApplicationError) as raised:
        services.api_key_create(merchant=merchant, actor=None, name="x", scopes=["everything"])

    assert raised.value.fields == {"scopes": ["Unknown scope: everything."]}


def test_revoking_twice_records_one_event(merchant, owner, api_key_pair):
    api_key, _ = api_key_pair

    services.api_key_revoke(api_key=api_key, actor=owner)
    services.api_key_revoke(api_key=api_key, actor=owner)

    assert AuditEvent.objects.filter(merchant=merchant, action="api_key.revoked").count() == 1
