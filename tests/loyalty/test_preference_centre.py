"""The preference centre shows the shopper's points balance and the rewards they can have now."""

import pytest

from profiles import links
from tests.loyalty.factories import RewardFactory

pytestmark = pytest.mark.django_db


def _preferences(client, shopper, language="en"):
    return client.get(f"/s/preferences/{links.preference_centre_token(shopper)}/", {"lang": language})


def test_the_preference_centre_shows_points_and_rewards_within_reach(
    client, program, buy, shopper, django_assert_max_num_queries
):
    # given a member with 120 points, a reward for 100 and one for 500
    buy(12_000)
    RewardFactory(program=program, name="Coffee on us", points_cost=100)
    RewardFactory(program=program, name="Weekend away", points_cost=500)

    # when they open their preference centre
    with django_assert_max_num_queries(12):
        page = _preferences(client, shopper).content.decode()

    # then they see their balance and the reward they can have now, not the one out of reach
    assert "Your points" in page
    assert "<strong>120</strong> points to spend" in page
    assert "Coffee on us" in page and "Weekend away" not in page


def test_in_the_shoppers_language(client, program, buy, shopper):
    buy(12_000)

    page = _preferences(client, shopper, "ko").content.decode()

    assert "<strong>120</strong>" in page and "Your points" not in page


def test_no_program_no_section(client, shopper):
    assert "Your points" not in _preferences(client, shopper).content.decode()
