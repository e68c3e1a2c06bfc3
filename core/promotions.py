"""Where the merchant's promotions are, for whoever forecasts demand, without knowing who runs them.

Promotions live in apps that sit beside or above the forecasts (loyalty's card-linked offers,
campaigns' broadcasts and coupon offers). Each registers, in its AppConfig.ready(), a function giving
the windows of its promotions that overlap a period; insights asks them all through `windows()`.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

# (store id, or None for every store and online; first moment; last moment) of one promotion.
Window = tuple[int | None, datetime, datetime]
Source = Callable[[Any, datetime, datetime], Iterable[Window]]  # (merchant, since, until)
_SOURCES: list[Source] = []


def register(source: Source) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def windows(merchant: Any, since: datetime, until: datetime) -> Iterator[Window]:
    for source in _SOURCES:
        yield from source(merchant, since, until)
