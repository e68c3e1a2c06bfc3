"""The shopper pages' catalogues: complete in every language, and the committed .mo files match the .po files."""

import ast
import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = ["ko", "zh_Hant", "ar"]


def _entries(po_text: str) -> list[dict[str, object]]:
    """The msgid/msgstr pairs of a .po file makemessages wrote (no obsolete or context entries)."""
    entries = []
    for block in po_text.strip().split("\n\n")[1:]:
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                if line.startswith("#,") and "fuzzy" in line:
                    fields["fuzzy"] = "yes"
                continue
            match = re.match(r"^(msgid_plural|msgid|msgstr\[\d\]|msgstr) (\".*\")$", line)
            if match:
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            else:
                fields[key] += ast.literal_eval(line)  # type: ignore[index]
        entries.append(fields)
    return entries


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_compiled(language):
    folder = LOCALE / language / "LC_MESSAGES"
    entries = _entries((folder / "django.po").read_text(encoding="utf-8"))
    with (folder / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)

    assert len(entries) > 100
    for entry in entries:
        assert "fuzzy" not in entry, entry["msgid"]
        if "msgid_plural" in entry:
            forms = [value for key, value in entry.items() if key.startswith("msgstr[")]
            assert forms and all(forms), entry["msgid"]
            for count in (1, 2, 7, 15):
                expected = forms[catalogue.plural(count)]  # type: ignore[attr-defined]
                assert catalogue.ngettext(entry["msgid"], entry["msgid_plural"], count) == expected
        else:
            assert entry["msgstr"], entry["msgid"]
            assert catalogue.gettext(entry["msgid"]) == entry["msgstr"], "run `make messages-compile`"
