"""The consent questions shopper pages ask, word for word.

The ledger records `WORDING_VERSION` and the language the shopper read, so the
exact sentence they agreed to can always be shown again. Change a sentence and
you must change the version: the old one stays in the translation catalogues'
history and in this file's.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from profiles.models import ConsentChannel, ConsentPurpose

WORDING_VERSION = "2026-11"


@dataclass(frozen=True)
class ConsentQuestion:
    channel: str
    purpose: str
    # "%(merchant)s" is filled in with the merchant's name.
    wording: Promise

    @property
    def field_name(self) -> str:
        return f"consent_{self.channel}_{self.purpose}"


CONSENT_QUESTIONS = (
    ConsentQuestion(ConsentChannel.EMAIL, ConsentPurpose.MARKETING, _("Email me offers and news from %(merchant)s.")),
    ConsentQuestion(ConsentChannel.SMS, ConsentPurpose.MARKETING, _("Text me offers and news from %(merchant)s.")),
    ConsentQuestion(
        ConsentChannel.EMAIL, ConsentPurpose.FEEDBACK, _("Email me now and then to ask how my visit went.")
    ),
    ConsentQuestion(ConsentChannel.SMS, ConsentPurpose.FEEDBACK, _("Text me now and then to ask how my visit went.")),
)


def wording_version(language: str) -> str:
    """What the ledger records: the version of the sentences, and the language they were read in."""
    return f"{WORDING_VERSION}:{language}"
