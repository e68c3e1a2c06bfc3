"""The keys identity resolution compares: a contact's match key and a shopper's folded name.

Both are stored columns PostgreSQL computes itself (generated columns), so every way a row is written —
a service, a batch, a COPY from an import — gets its key, and finding candidates is an index lookup.
The SQL below and the Python functions beside it apply one rule; a test holds them to each other.

Email: lower-cased, then, for the few providers that deliver every spelling to one mailbox, the spellings
folded together. The table stays small on purpose: a provider is listed only when its own documentation
says so, and a wrong entry would merge two people.

- Gmail ignores dots in the local part and everything after a `+` (googlemail.com is the same mailbox).
- Outlook/Hotmail/Live, iCloud, Fastmail and Proton ignore a `+tag`, but a dot is a different address.
- Everyone else (naver.com and daum.net included, where a dot matters): only the case is folded.

Phone: E.164 (`+` and digits). Stored numbers are already E.164 (services.shoppers.normalize_phone, through
the phonenumbers library); the key drops anything else an older row may carry.

Name: first and last name together, NFKC, lower case, accents dropped (NFD, combining marks removed, then
composed again, so Hangul compares as composed syllables), Arabic folded (tashkeel and tatweel dropped, alef
variants to ا, ta marbuta to ه, alef maqsura to ي), Greek final sigma to σ, and Traditional Han characters
to Simplified through HAN_TRADITIONAL_TO_SIMPLIFIED, runs of spaces to one. pg_trgm compares the result.
"""

import re
import unicodedata
from collections.abc import Iterable

import phonenumbers

GMAIL_DOMAIN = "gmail.com"
# Providers that ignore both dots and +tags, and the one domain their mailboxes are known by.
EMAIL_IGNORES_DOTS_AND_TAGS = {"gmail.com": GMAIL_DOMAIN, "googlemail.com": GMAIL_DOMAIN}
# Providers that ignore a +tag but not dots.
EMAIL_IGNORES_TAGS = (
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "fastmail.fm",
    "proton.me",
    "protonmail.com",
    "pm.me",
)

# Traditional → Simplified for the characters most common in names (the hundred most frequent surnames
# and given-name characters whose two forms differ). Not a converter: a name with a rarer character still
# matches on its other characters, at a lower similarity. Each pair is written Traditional then Simplified.
_HAN_PAIRS = (
    "陳陈 張张 黃黄 劉刘 吳吴 趙赵 楊杨 鄭郑 謝谢 許许 鄧邓 馮冯 葉叶 蕭萧 羅罗 錢钱 孫孙 鍾钟 盧卢 賴赖 "
    "簡简 韓韩 蘇苏 龍龙 鄒邹 譚谭 關关 嚴严 湯汤 陸陆 顧顾 閻阎 蔣蒋 鄺邝 萬万 馬马 東东 歐欧 陽阳 聶聂 "
    "鄔邬 麥麦 莊庄 華华 範范 衛卫 賀贺 齊齐 龔龚 貝贝 紀纪 溫温 塗涂 區区 "
    "偉伟 國国 強强 軍军 麗丽 紅红 傑杰 濤涛 雲云 鳳凤 榮荣 慶庆 興兴 輝辉 寶宝 鵬鹏 藝艺 詩诗 義义 "
    "達达 賢贤 聰聪 穎颖 靜静 嬌娇 銘铭 軒轩 豐丰 劍剑 長长 書书 開开 順顺 進进 誠诚 龐庞 銀银 潔洁 "
    "蓮莲 漢汉 學学 勝胜 曉晓 鴻鸿 發发 寧宁 婭娅 瑩莹 嶺岭 蘭兰 鶯莺 錦锦 綺绮 維维 緯纬"
)
HAN_TRADITIONAL_TO_SIMPLIFIED = {pair[0]: pair[1] for pair in _HAN_PAIRS.split()}
# Arabic letters with more than one spelling in names.
ARABIC_LETTER_FOLDS = {"آ": "ا", "أ": "ا", "إ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"}
OTHER_LETTER_FOLDS = {"ς": "σ"}
# Combining marks dropped after NFD: Latin/Greek/Cyrillic accents, Arabic tashkeel and superscript alef; and
# the tatweel (a stretching stroke, not a mark).
DROPPED_MARKS = r"[\u0300-\u036f\u064b-\u065f\u0670\u0640]"

_LETTER_FOLDS = {**ARABIC_LETTER_FOLDS, **OTHER_LETTER_FOLDS, **HAN_TRADITIONAL_TO_SIMPLIFIED}
_FOLD_FROM = "".join(_LETTER_FOLDS)
_FOLD_TO = "".join(_LETTER_FOLDS.values())
_DROPPED_MARKS = re.compile(DROPPED_MARKS)
_SPACES = re.compile(r"\s+")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(_sql_text(value) for value in values)


# Python


def email_match_key(value: str) -> str:
    """The key of an address: the spellings a provider delivers to one mailbox give one key."""
    email = value.lower()
    local, _, rest = email.partition("@")
    domain = rest.split("@")[0]
    if domain in EMAIL_IGNORES_DOTS_AND_TAGS:
        return local.split("+")[0].replace(".", "") + "@" + EMAIL_IGNORES_DOTS_AND_TAGS[domain]
    if domain in EMAIL_IGNORES_TAGS:
        return local.split("+")[0] + "@" + domain
    return email


def phone_match_key(value: str, *, region: str | None = None) -> str:
    """E.164 through phonenumbers when the number parses; else `+` and its digits, as the stored key has it."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value, region), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return "+" + re.sub(r"[^0-9]", "", value)


def contact_match_key(kind: str, value: str) -> str:
    return email_match_key(value) if kind == "email" else phone_match_key(value)


def name_key(first_name: str, last_name: str) -> str:
    """A shopper's name as identity resolution compares it (see the module's docstring)."""
    name = unicodedata.normalize("NFKC", f"{first_name} {last_name}").lower()
    name = unicodedata.normalize("NFC", _DROPPED_MARKS.sub("", unicodedata.normalize("NFD", name)))
    return _SPACES.sub(" ", name.translate(str.maketrans(_FOLD_FROM, _FOLD_TO))).strip()


# SQL (the expressions of the generated columns; immutable functions only)

_EMAIL = "lower(value)"
_LOCAL = f"split_part({_EMAIL}, '@', 1)"
_DOMAIN = f"split_part({_EMAIL}, '@', 2)"
CONTACT_MATCH_KEY_SQL = (
    f"CASE WHEN kind = 'email' THEN ("
    f"CASE WHEN {_DOMAIN} IN ({_sql_list(EMAIL_IGNORES_DOTS_AND_TAGS)}) "
    f"THEN replace(split_part({_LOCAL}, '+', 1), '.', '') || '@' || {_sql_text(GMAIL_DOMAIN)} "
    f"WHEN {_DOMAIN} IN ({_sql_list(EMAIL_IGNORES_TAGS)}) "
    f"THEN split_part({_LOCAL}, '+', 1) || '@' || {_DOMAIN} "
    f"ELSE {_EMAIL} END) "
    f"ELSE '+' || regexp_replace(value, '[^0-9]', '', 'g') END"
)

_NAME = "normalize(lower(normalize(first_name || ' ' || last_name, NFKC)), NFD)"
_UNMARKED = f"normalize(regexp_replace({_NAME}, {_sql_text(DROPPED_MARKS)}, '', 'g'), NFC)"
_FOLDED = f"translate({_UNMARKED}, {_sql_text(_FOLD_FROM)}, {_sql_text(_FOLD_TO)})"
NAME_KEY_SQL = rf"btrim(regexp_replace({_FOLDED}, '\s+', ' ', 'g'))"
