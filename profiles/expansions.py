"""Parts of the shopper API object given only when asked for (`?expand=consents,loyalty`).

The shopper object stays small by default. Each part is registered under a name with a loader that
answers for a whole page of shoppers at once (one query, whatever the page's size) and a serializer that
documents its shape in the schema. profiles registers its own parts (consents, preferences); an app above
it registers its own in AppConfig.ready() (loyalty: the points balance and tier), so profiles imports none.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ApplicationError
from merchants.models import Merchant
from profiles.models import Shopper

# (merchant, shoppers) -> {shopper id: the part, as plain JSON values}; a shopper left out gets `default`.
Loader = Callable[[Merchant, Sequence[Shopper]], dict[int, Any]]


@dataclass(frozen=True)
class Expansion:
    name: str
    loader: Loader
    # A DRF serializer (or field) class describing one value, for the schema.
    schema: type
    description: str
    many: bool = False
    default: Any = None


_EXPANSIONS: dict[str, Expansion] = {}


def register(expansion: Expansion) -> None:
    _EXPANSIONS[expansion.name] = expansion


def registered() -> list[Expansion]:
    return sorted(_EXPANSIONS.values(), key=lambda expansion: expansion.name)


def expand_parse(raw: str) -> list[str]:
    """The names in `?expand=a,b`; an unknown one is a 400 naming the parameter and the names there are."""
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in _EXPANSIONS]
    if unknown:
        raise ApplicationError(
            f"Unknown expand: {', '.join(unknown)}. Choose among: {', '.join(sorted(_EXPANSIONS))}.",
            code="invalid_expand",
            field="expand",
        )
    return names


def expand_load(*, merchant: Merchant, shoppers: Sequence[Shopper], names: Sequence[str]) -> dict[str, dict[int, Any]]:
    """Each asked-for part of every shopper: one loader call (and so a fixed number of queries) per part."""
    loaded = {}
    for name in names:
        expansion = _EXPANSIONS[name]
        values = expansion.loader(merchant, shoppers) if shoppers else {}
        loaded[name] = {shopper.pk: values.get(shopper.pk, expansion.default) for shopper in shoppers}
    return loaded
