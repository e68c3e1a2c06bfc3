from campaigns.models import Segment
from campaigns.models.segments import ShopperScoreRefresh
from demo.segments import DEMO_SEGMENTS, demo_segments_seed
from tests.factories import MerchantFactory


def test_demo_segments_are_created_once_and_their_scores_refreshed(db):
    northwind = MerchantFactory(slug="northwind")
    MerchantFactory(slug="blue-bean")
    demo_segments_seed()
    demo_segments_seed()
    names = set(Segment.objects.filter(merchant=northwind).values_list("name", flat=True))
    assert names == {name for name, _description, _rules in DEMO_SEGMENTS["northwind"]}
    assert Segment.all_merchants.count() == sum(len(segments) for segments in DEMO_SEGMENTS.values())
    assert ShopperScoreRefresh.objects.filter(merchant=northwind).exists()
