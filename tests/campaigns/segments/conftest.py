import pytest

from tests.campaigns.segments.population import population_build


@pytest.fixture
def population(db):
    return population_build()
