import pytest

from tests.campaigns.segments.population import population_build


@pytest.fixture
def population(merchant, other_merchant):
    """The hand-computed population, on the shared fixtures' merchants (so owner, analyst… are its staff)."""
    return population_build(merchant=merchant, other_merchant=other_merchant)
