"""The 34 provinces of Afghanistan: codes, names, spellings, and a resolver for free text.

Province names reach this package in many spellings: English (``Nangarhar``), ISO 3166-2
transliteration with diacritics (``Nangarhār``, ``Kunaṟ``), older or regional forms
(``Ningrahar``, ``Qonduz``, ``Oruzgan``), with administrative words around them
(``Nangarhar Province``, ``Wilayat-e Kabul``) and in Dari or Pashto script, written with
Arabic or Persian letter forms (``ننگرهار``, ``پکتيا``, ``ولایت کابل``).
:func:`resolve_province` maps any of these to the ISO 3166-2 code (``"AF-NAN"``).

How a name is resolved
----------------------
1. The text is split into parts at ``/ ( ) , ; | [ ]`` and at a change of script; every part
   must name the same province (``"Kunar (کنر)"`` is fine, ``"Paktia/Paktika"`` is ambiguous).
2. Each part is normalised: Unicode NFKD with combining marks removed (so ``ā`` -> ``a``,
   ``ṟ`` -> ``r`` and Arabic short-vowel marks disappear), case folded, apostrophes dropped,
   Arabic letter forms mapped to their Persian equivalents (``ي`` -> ``ی``, ``ك`` -> ``ک``,
   ``ة`` -> ``ه``), Pashto letters to their nearest Dari ones (``ګ`` -> ``گ``, ``ړ`` -> ``ر``),
   tatweel and zero-width joiners removed, and a zero-width non-joiner read as a word break.
3. Administrative words are stripped: ``province``, ``province of``, ``wilayat-e``,
   ``velayat``, ``vilayat``, ``wilayah`` (and similar), ``afghanistan`` at the end, ``ولایت``
   and ``استان``. ``Maidan``/``میدان`` is dropped in front of Wardak.
4. What remains is reduced to a *skeleton* by ordered rewrite rules that erase the
   differences between transliteration families: doubled consonants collapsed, French ``ou``
   before a vowel read as ``w`` (``Parouan``), German ``sch`` and French ``tch`` and ``dj``
   (``Badachschan``, ``Djozdjan``), French ``ch`` for ``sh`` (``Pandjchir``),
   ``q``/``c`` -> ``k``, then ``kh``/``gh``/``sh`` -> ``k``/``g``/``s``, ``ow``/``aw`` ->
   ``o``, ``ou``/``oo`` -> ``u``, ``ee`` -> ``i``, ``y`` -> ``i``, ``w`` -> ``v``, ``z`` ->
   ``s`` (``Kundus``), doubled letters collapsed and vowels after the first letter dropped (an
   initial vowel becomes ``a``). Dari skeletons fold ``ق``/``گ`` into ``ک`` and drop the
   long-vowel letters ``ا و ی`` after the first letter. A word that names nothing is tried
   again without a Dari plural ending, ``-at``/``ات`` (``Ghorat``, ``غورات``) or ``-ha``/``ها``
   (``Kunarha``, the old name of Kunar).
5. The skeleton is looked up in a table built from every spelling listed in the package table.
   Building that table fails at import if two provinces would share a skeleton, so, for
   example, Paktia (``pkt``) and Paktika (``pktk``), or Kunar (``knr``) and Kunduz
   (``knds``), can never be confused.
6. A Latin match is refused when the spelling, vowels kept, is less than 70% similar
   (:func:`rapidfuzz.fuzz.ratio`) to every listed spelling of that province, so a word that
   only shares the consonants ("pocket" for Paktia) raises.

Nothing is corrected silently
-----------------------------
:func:`resolve_name` (and :func:`resolution_report`, for a column) says how each text was
read: ``exact`` (a listed spelling or code as written), ``normalised`` (only case, spacing,
punctuation, diacritics, letter forms, administrative words or the code's separator differ),
``corrected`` (the rewrite rules were needed: "Nangarhr", "Kunarr", "Kaboul"), ``ambiguous``
or ``unknown``. A corrected spelling is refused as ambiguous when its edit distance (vowels
kept) to another province's spellings is no greater than to its own ("Pakita" is two edits
from Paktia and two from Paktika); a spelling without vowels ("Pktk") is placed by its
consonants alone. Common English words that the rules would read as a province ("cable",
"coast", "heart") are refused.

Nothing is decided by fuzzy matching: text that has no exact skeleton raises
:class:`~khorasan_map.errors.UnknownProvinceError`, whose suggestions come from
:mod:`rapidfuzz`. Provincial capitals (``Charikar``, ``Jalalabad``) are recognised only to say
which province they are in; they are towns, not provinces, and raise.

The table
---------
``data/provinces.csv`` (inside the package) has one row per province and the columns
``province_code`` (ISO 3166-2), ``province`` (the English name used on maps),
``iso_name`` (the ISO 3166-2 subdivision name, with its diacritics), ``province_dari``
(the name in Dari script) and ``variants`` (other spellings, Latin or Dari, separated by
``"; "``). The codes, English, ISO and Dari names were taken from the project's research
table of province names (ISO 3166-2:AF and GADM); the variants are that table's variants and
GADM names plus spellings added for this module. The skeleton rules make most unlisted
spellings of the same families work, so the list need not be exhaustive.

Examples
--------
>>> resolve_province("Wilayat-e Nangarhar")
'AF-NAN'
>>> resolve_province("پکتيا")
'AF-PIA'
>>> province_name("AF-SAR")
'Sar-e Pol'
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import math
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from khorasan_map.errors import UnknownProvinceError, UnknownProvincesError

__all__ = [
    "PROVINCE_CODES",
    "RESOLUTION_METHODS",
    "Resolution",
    "UnknownProvincesError",
    "normalise_province_code",
    "province_name",
    "province_table",
    "resolve_province",
    "resolve_name",
    "resolve_provinces",
    "resolution_report",
    "suggest_provinces",
]

_TABLE_FILE = "provinces.csv"
_TABLE_COLUMNS = ["province_code", "province", "iso_name", "province_dari"]

# Provincial capitals whose name is not the province's own: recognised only to explain an
# error ("Charikar is a town in Parwan, not a province"), never resolved.
_CAPITALS: dict[str, tuple[str, ...]] = {
    "AF-BDS": ("Fayzabad", "Faizabad"),
    "AF-BDG": ("Qala-i-Naw", "Qala-e Naw", "Qalai Naw"),
    "AF-BGL": ("Pul-i-Khumri", "Pul-e Khumri", "Puli Khumri"),
    "AF-BAL": ("Mazar-i-Sharif", "Mazar-e Sharif", "Mazar"),
    "AF-DAY": ("Nili",),
    "AF-FYB": ("Maymana", "Maimana"),
    "AF-GHO": ("Chaghcharan", "Firozkoh"),
    "AF-HEL": ("Lashkar Gah", "Lashkargah"),
    "AF-JOW": ("Sheberghan", "Shibirghan", "Shiberghan"),
    "AF-KAP": ("Mahmud-i-Raqi", "Mahmud-e Raqi"),
    "AF-KNR": ("Asadabad",),
    "AF-LAG": ("Mihtarlam", "Mehtarlam"),
    "AF-LOG": ("Pul-i-Alam", "Pul-e Alam", "Puli Alam"),
    "AF-NAN": ("Jalalabad", "Jelalabad"),
    "AF-NIM": ("Zaranj",),
    "AF-NUR": ("Parun",),
    "AF-PAN": ("Bazarak",),
    "AF-PAR": ("Charikar",),
    "AF-PIA": ("Gardez", "Gardiz"),
    "AF-PKA": ("Sharana", "Sharan"),
    "AF-SAM": ("Aybak", "Aibak"),
    "AF-TAK": ("Taloqan", "Taluqan"),
    "AF-URU": ("Tarinkot", "Tarin Kot", "Tirin Kot"),
    "AF-WAR": ("Maidan Shahr", "Maydan Shahr"),
    "AF-ZAB": ("Qalat", "Qalat-i-Ghilzai"),
}

# Words naming the administrative unit, stripped before lookup.
_PREFIX_WORDS = frozenset(
    {
        "province",
        "provence",
        "provincia",
        "prov",
        "wilayat",
        "wilayah",
        "wilaya",
        "wilayet",
        "welayat",
        "walayat",
        "velayat",
        "velayet",
        "vilayat",
        "vilayet",
        "ولایت",
        "استان",
    }
)
_SUFFIX_WORDS = frozenset({"province", "provence", "prov", "wilayat", "ولایت", "afghanistan"})
# Joining words allowed right after a prefix word ("Wilayat-e Kabul", "Province of Kabul").
_CONNECTORS = frozenset({"e", "i", "ye", "yi", "of", "de", "del", "di", "the"})
_LEADING_ARTICLES = frozenset({"the"})
_WARDAK_PREFIXES = ("maidan", "maydan", "meydan", "medan", "میدان")

# Letters that NFKD does not decompose, and Arabic/Pashto forms, mapped to the letters the
# skeleton rules expect.
_CHAR_MAP = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ə": "e",
        "ي": "ی",
        "ى": "ی",
        "ې": "ی",
        "ۍ": "ی",
        "ێ": "ی",
        "ك": "ک",
        "ڪ": "ک",
        "ګ": "گ",
        "ة": "ه",
        "ە": "ه",
        "ہ": "ه",
        "ھ": "ه",
        "ۀ": "ه",
        "ٱ": "ا",
        "ړ": "ر",
        "ټ": "ت",
        "ډ": "د",
        "ښ": "ش",
        "ږ": "ژ",
        "ڼ": "ن",
        "ـ": None,  # tatweel
        "\u200c": " ",  # zero-width non-joiner: a word boundary ("ولایت‌کنر")
        "\u200d": None,  # zero-width joiner
        "\u200b": None,  # zero-width space
        "\u200e": None,  # left-to-right mark
        "\u200f": None,  # right-to-left mark
        "\ufeff": None,  # byte-order mark
        "'": None,
        "\u2019": None,
        "\u2018": None,
        "\u02bc": None,
        "\u02bb": None,
        "`": None,
        "\u00b4": None,
    }
)

_PART_SEPARATORS = re.compile(r"[/()\[\],;|\\]+")
_ARABIC = "\u0600-\u06ff\u0750-\u077f"
_TOKEN = re.compile(rf"[a-z0-9]+|[{_ARABIC}]+")
_ISO_CODE = re.compile(r"^\s*af[\s\-_.]*([a-z]{3})\s*$")

# Ordered rewrite rules for Latin skeletons (applied after lowercasing).
_LATIN_RULES: tuple[tuple[str, str], ...] = (
    ("sch", "sh"),  # German sch for sh
    ("tch", "ch"),  # French tch for ch
    ("dj", "j"),  # French dj for j
    ("chs", "khs"),  # German ch for kh (Badachshan)
    ("ch", "sh"),  # French ch for sh (Badakhchan, Pandjchir)
    ("ph", "f"),
    ("q", "k"),
    ("c", "k"),
    ("kh", "k"),
    ("gh", "g"),
    ("sh", "s"),
    ("zh", "z"),
    ("ow", "o"),
    ("aw", "o"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("y", "i"),
    ("w", "v"),
    ("z", "s"),  # s for z (Kundus, Nimros, Ghasni)
)
# The Dari plural endings some province names carry (Badghisat, Ghorat, غورات; Kunarha,
# کنرها): tried without them when the whole word names no province.
_PLURAL_ENDINGS = ("aat", "at", "ات", "ha", "ها")
_LATIN_VOWELS = frozenset("aeiou")
_DARI_FOLD = str.maketrans({"ق": "ک", "گ": "ک", "آ": "ا", "أ": "ا", "إ": "ا"})
_DARI_VOWELS = frozenset("اوی")
_DOUBLED = re.compile(r"(.)\1+")
_FRENCH_W = re.compile(r"ou(?=[aei])")
_DOUBLED_CONSONANT = re.compile(r"([b-df-hj-np-tv-z])\1+")
# A skeleton match is refused when the spelling, vowels kept, is less similar than this
# (rapidfuzz ratio, 0-100) to every listed spelling of the province.
_MIN_VOWEL_SIMILARITY = 70.0
# Common English words whose skeleton is a province's ("cable": Kabul, "coast": Khost): they are
# refused whenever the spelling rules would be needed to read them as a province. The list is
# every word of an 88,000-word American English dictionary (Debian's wamerican, proper nouns
# lower-cased) that the rules would otherwise read as a province; regenerate it when the
# rules change.
_COMMON_WORDS = frozenset(
    """
    badges balk balky bilk black bloc block bowman budges budgies bulk cabal cable canary
    capes caps capsize capsizes cast coast cobol cockiest condoes condos conner connery copes
    copys cosiest cost coupes coyest coziest cpis cst cyst freebee gooier gore gorey gory
    gouger gr grower guerra guru harriet harriett hart harte heart hearty hereto huerta
    kaposis kaundas kinds legman logger numerous pact parvenu paucity peruvian pharaoh sable
    shabbily sharply tackier taker
    """.split()
)


def _is_missing(text) -> bool:
    """Return True for None, NaN, pandas NA/NaT and blank strings."""
    if text is None or text is pd.NA or text is pd.NaT:
        return True
    if isinstance(text, float) and math.isnan(text):
        return True
    if isinstance(text, str) and not text.strip():
        return True
    return False


def _fold(text: str) -> str:
    """Remove diacritics and map special letters; lowercase."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.casefold().translate(_CHAR_MAP)


def _is_arabic(token: str) -> bool:
    return "\u0600" <= token[0] <= "\u077f"


def _parts(text: str) -> list[list[str]]:
    """Split folded text into parts (at separators and script changes), each a token list."""
    parts = []
    for chunk in _PART_SEPARATORS.split(_fold(text)):
        tokens = _TOKEN.findall(chunk)
        current: list[str] = []
        for token in tokens:
            if current and _is_arabic(current[-1]) != _is_arabic(token):
                parts.append(current)
                current = []
            current.append(token)
        if current:
            parts.append(current)
    return parts


def _strip_affixes(tokens: list[str]) -> list[str]:
    """Remove administrative words around a name ("Wilayat-e", "Province of", "ولایت")."""
    tokens = list(tokens)
    while tokens and tokens[0] in _LEADING_ARTICLES:
        tokens.pop(0)
    while len(tokens) > 1 and tokens[0] in _PREFIX_WORDS:
        tokens.pop(0)
        while len(tokens) > 1 and tokens[0] in _CONNECTORS:
            tokens.pop(0)
    while len(tokens) > 1 and tokens[-1] in _SUFFIX_WORDS:
        tokens.pop()
    if len(tokens) == 1 and (tokens[0] in _PREFIX_WORDS or tokens[0] in _SUFFIX_WORDS):
        return []
    return tokens


def _latin_fold(word: str) -> str:
    """Apply the Latin rewrite rules and collapse doubled letters, keeping the vowels."""
    word = _DOUBLED_CONSONANT.sub(r"\1", word)  # "Balkhh", "Takhhar": before the digraphs
    word = _FRENCH_W.sub("w", word)  # French ou before a vowel for w: "Parouan", "Ouardak"
    for old, new in _LATIN_RULES:
        word = word.replace(old, new)
    return _DOUBLED.sub(r"\1", word)


def _latin_skeleton(word: str) -> str:
    word = _latin_fold(word)
    head = "a" if word[0] in _LATIN_VOWELS else word[0]
    tail = "".join(ch for ch in word[1:] if ch not in _LATIN_VOWELS)
    return _DOUBLED.sub(r"\1", head + tail)


def _dari_skeleton(word: str) -> str:
    word = _DOUBLED.sub(r"\1", word.translate(_DARI_FOLD))
    tail = "".join(ch for ch in word[1:] if ch not in _DARI_VOWELS)
    return _DOUBLED.sub(r"\1", word[0] + tail)


def _skeleton(tokens: list[str]) -> str:
    """Skeleton key of a token list that holds one script (empty string for no tokens)."""
    word = "".join(tokens)
    if not word:
        return ""
    return _dari_skeleton(word) if _is_arabic(word) else _latin_skeleton(word)


def _words(text: str) -> list[str]:
    """Every part of ``text`` as one folded word, administrative words stripped."""
    words = []
    for tokens in _parts(text):
        word = "".join(_strip_affixes(tokens))
        if word:
            words.append(word)
    return words


def _keys(text: str) -> list[str]:
    """Skeleton keys of every part of ``text`` (after affixes are stripped)."""
    return [_skeleton([word]) for word in _words(text)]


@functools.cache
def _raw_table() -> pd.DataFrame:
    source = importlib.resources.files("khorasan_map") / "data" / _TABLE_FILE
    with source.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype=str, keep_default_na=False)
    if len(table) != 34 or not table["province_code"].is_unique:
        raise RuntimeError(f"{_TABLE_FILE} must list 34 distinct provinces, has {len(table)} rows")
    return table


def _spellings() -> dict[str, list[str]]:
    """Every listed spelling of each province, keyed by code."""
    spellings = {}
    for row in _raw_table().itertuples(index=False):
        names = [row.province, row.iso_name, row.province_dari]
        names += [v.strip() for v in row.variants.split(";") if v.strip()]
        spellings[row.province_code] = names
    return spellings


def _build_index(spellings: dict[str, list[str]]) -> dict[str, str]:
    """Map every skeleton key to its province; raise if two provinces would share a key."""
    index: dict[str, str] = {}
    origin: dict[str, str] = {}
    for code, names in spellings.items():
        for name in names:
            for key in _keys(name):
                if index.setdefault(key, code) != code:
                    raise RuntimeError(
                        f"spelling {name!r} of {code} has the skeleton {key!r} of "
                        f"{origin[key]!r} ({index[key]}): the two provinces would be confused"
                    )
                origin.setdefault(key, name)
    return index


def _build_capital_index(index: dict[str, str]) -> dict[str, tuple[str, str]]:
    capitals = {}
    for code, names in _CAPITALS.items():
        for name in names:
            for key in _keys(name):
                if key in index:
                    raise RuntimeError(f"capital {name!r} has the skeleton of province {key!r}")
                capitals[key] = (code, names[0])
    return capitals


_SPELLINGS = _spellings()
_INDEX = _build_index(_SPELLINGS)
_CAPITAL_INDEX = _build_capital_index(_INDEX)
_NAMES = dict(zip(_raw_table()["province_code"], _raw_table()["province"], strict=True))

#: ISO 3166-2 codes of the 34 provinces, in alphabetical order of code.
PROVINCE_CODES: tuple[str, ...] = tuple(sorted(_NAMES))

#: How a name was resolved, from the most to the least certain (see :func:`resolve_name`).
RESOLUTION_METHODS: tuple[str, ...] = ("exact", "normalised", "corrected", "ambiguous", "unknown")


def _label(code: str) -> str:
    return f"{_NAMES[code]} ({code})"


def _unwardak(word: str) -> str:
    """``word`` without a leading "Maidan" (the Wardak prefix), if it has one."""
    for prefix in _WARDAK_PREFIXES:
        if word.startswith(prefix) and len(word) > len(prefix):
            return word[len(prefix) :]
    return word


def _distance_fold(word: str) -> str:
    """Apply the transliteration rules to a word but keep its vowels (for edit distances)."""
    if _is_arabic(word):
        return _DOUBLED.sub(r"\1", word.translate(_DARI_FOLD))
    return _latin_fold(word)


def _listed_forms(names: list[str]) -> tuple[set[str], set[str]]:
    """Return the normalised and the distance-folded words of a province's spellings."""
    normal = {word for name in names for word in _words(name)}
    normal |= {_unwardak(word) for word in normal}
    return normal, {_distance_fold(word) for word in normal}


_LISTED_EXACT = {code: {*names, code} for code, names in _SPELLINGS.items()}
_LISTED_FORMS = {code: _listed_forms(names) for code, names in _SPELLINGS.items()}
_LISTED_NORMAL = {code: forms[0] for code, forms in _LISTED_FORMS.items()}
_FOLDED = {code: forms[1] for code, forms in _LISTED_FORMS.items()}
_FOLDED_CHOICES = [(word, code) for code, words in _FOLDED.items() for word in sorted(words)]


def _lookup_key(key: str) -> str | None:
    code = _INDEX.get(key)
    if code is None:
        for prefix in _WARDAK_PREFIXES:
            stem = _skeleton([prefix])
            if key.startswith(stem) and _INDEX.get(key[len(stem) :]) == "AF-WAR":
                return "AF-WAR"
    return code


def _match_word(word: str) -> tuple[str | None, str]:
    """Return the province a folded word names and the word as matched (plural dropped)."""
    key = _skeleton([word])
    code = _lookup_key(key)
    if code is not None or key in _CAPITAL_INDEX:
        return code, word
    for ending in _PLURAL_ENDINGS:
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 2:
            code = _lookup_key(_skeleton([stem]))
            if code is not None:
                return code, stem
    return None, word


def normalise_province_code(text) -> str | None:
    """Return text shaped like an ISO 3166-2:AF code in its standard form, else None.

    Case, spaces and the separator are forgiven (``"af_kan"``, ``"AFKAN"``, ``"AF.KAN"``); the
    code need not be one of :data:`PROVINCE_CODES` (check that yourself).

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str or None
        ``"AF-XXX"`` in capitals, or None when ``text`` is not shaped like such a code.

    Examples
    --------
    >>> normalise_province_code("AF_KAN"), normalise_province_code("Kandahar")
    ('AF-KAN', None)
    """
    match = _ISO_CODE.match(_fold(text)) if isinstance(text, str) else None
    return f"AF-{match.group(1).upper()}" if match else None


@functools.lru_cache(maxsize=65_536)
def _resolve_text(text: str) -> tuple[str | None, str, str | None, tuple[str, ...]]:
    """Resolve one non-empty string to ``(code, method, reason, suggestions)``."""
    code = normalise_province_code(text)
    if code in _NAMES:
        return code, "exact" if text == code else "normalised", None, ()
    words = _words(text)
    if not words:
        return None, "unknown", "no province name, only administrative words", ()
    matches = [_match_word(word) for word in words]
    found = list(dict.fromkeys(c for c, _ in matches if c is not None))
    if len(found) == 1 and all(c is not None for c, _ in matches):
        return _judge(text, found[0], words, [word for _, word in matches])
    found += [c for c in _codes_of_words(text) if c not in found]
    if len(found) > 1:
        names = " and ".join(_label(c) for c in found)
        return None, "ambiguous", f"ambiguous: names {names}", tuple(_label(c) for c in found[:3])
    reason = _capital_reason([_skeleton([word]) for word in words])
    return None, "unknown", reason, tuple(suggest_provinces(text))


def _judge(text: str, code: str, words: list[str], matched: list[str]):
    """Say how a spelling whose every part names ``code`` was resolved, or refuse it."""
    label = _label(code)
    if text in _LISTED_EXACT[code]:
        return code, "exact", None, ()
    if all(w in _LISTED_NORMAL[code] or _unwardak(w) in _LISTED_NORMAL[code] for w in words):
        return code, "normalised", None, ()
    latin = [word for word in matched if not _is_arabic(word)]
    if not all(_vowels_fit(word, code) for word in latin):
        return None, "unknown", f"only its consonants match {label}", (label,)
    common = [word for word in words if word in _COMMON_WORDS]
    if common:
        reason = f"{common[0]!r} is a common English word, not a province name"
        return None, "unknown", reason, (label,)
    rival = _rival(matched, code)
    if rival is not None:
        reason = f"ambiguous: spelled as close to {_label(rival)} as to {label}"
        return None, "ambiguous", reason, (label, _label(rival))
    reason = f"not a listed spelling of {label}; read by the spelling rules"
    return code, "corrected", reason, ()


def _vowels_fit(word: str, code: str) -> bool:
    """Whether a Latin word, vowels kept, is close to a spelling of ``code``.

    The skeleton drops vowels, so an unrelated word with the same consonants ("pocket",
    "pkt") would match a province (Paktia); this veto turns such matches into errors. It
    never chooses a province, it only refuses one.
    """
    best = process.extractOne(_latin_fold(word), _FOLDED[code], scorer=fuzz.ratio)
    return best is not None and best[1] >= _MIN_VOWEL_SIMILARITY


def _rival(words: list[str], code: str) -> str | None:
    """Return another province a corrected spelling is as close to (edit distance, vowels kept).

    A Latin word without vowels after its first letter is an abbreviation ("Pktk") that only
    its consonant skeleton can place, so it has no rival.
    """
    for word in words:
        folded = _distance_fold(word)
        if not _is_arabic(word) and not set(folded[1:]) & _LATIN_VOWELS:
            continue
        own = min(Levenshtein.distance(folded, listed) for listed in _FOLDED[code])
        for listed, owner in _FOLDED_CHOICES:
            if owner != code and Levenshtein.distance(folded, listed, score_cutoff=own) <= own:
                return owner
    return None


def _codes_of_words(text: str) -> list[str]:
    """Provinces named by single words of ``text`` (used only to explain failures)."""
    codes = []
    for tokens in _parts(text):
        for token in _strip_affixes(tokens):
            code = _lookup_key(_skeleton([token]))
            if code is not None and code not in codes:
                codes.append(code)
    return codes


def _capital_reason(keys: list[str]) -> str | None:
    for key in keys:
        if key in _CAPITAL_INDEX:
            code, town = _CAPITAL_INDEX[key]
            return f"{town} is a town, the capital of {_NAMES[code]} province, not a province"
    return None


@dataclasses.dataclass(frozen=True)
class Resolution:
    """How one text was read as a province: see :func:`resolve_name`.

    Attributes
    ----------
    given : object
        The text as given, unchanged.
    code : str or None
        The ISO 3166-2 code, or None when the text was refused.
    name : str or None
        The province's English name, or None.
    method : str
        One of :data:`RESOLUTION_METHODS`.
    suggestions : tuple of str
        For refused texts, up to three likely provinces as ``"Name (CODE)"``.
    reason : str or None
        Why a text was corrected or refused, in words.
    """

    given: object
    code: str | None
    name: str | None
    method: str
    suggestions: tuple[str, ...]
    reason: str | None

    def error(self) -> UnknownProvinceError:
        """Return the error a refused text raises (see :func:`resolve_province`)."""
        return UnknownProvinceError(self.given, self.suggestions, self.reason)


def resolve_name(text) -> Resolution:
    """Read a text as a province and say how: nothing is corrected without a word.

    ``method`` is ``"exact"`` for a listed spelling or code as written; ``"normalised"`` when
    only case, spacing, punctuation, diacritics, Arabic or Pashto letter forms, administrative
    words ("Province", "ولایت") or the code's separator differ from a listed spelling;
    ``"corrected"`` when the spelling rules were needed (transliteration families, vowels,
    doubled letters, a plural ending, a dropped letter); ``"ambiguous"`` when the text names
    two provinces or is spelled as close to another province as to the one its skeleton
    names ("Pakita": Paktia and Paktika); ``"unknown"`` otherwise, common English words
    ("cable", "coast") included.

    Parameters
    ----------
    text : str
        Any text; missing values give method ``"unknown"`` with reason ``"empty"``.

    Returns
    -------
    Resolution
        The text as given, the code and name (None when refused), the method, suggestions
        for refused texts, and the reason for corrected and refused ones.

    Examples
    --------
    >>> resolve_name("Nangarhar").method, resolve_name("nangarhar province").method
    ('exact', 'normalised')
    >>> found = resolve_name("Nangarhr")
    >>> found.code, found.method, found.given
    ('AF-NAN', 'corrected', 'Nangarhr')
    >>> resolve_name("Pakita").suggestions
    ('Paktia (AF-PIA)', 'Paktika (AF-PKA)')
    """
    if _is_missing(text):
        return Resolution(text, None, None, "unknown", (), "empty")
    code, method, reason, suggestions = _resolve_text(str(text))
    name = None if code is None else _NAMES[code]
    return Resolution(text, code, name, method, suggestions, reason)


def resolve_province(text) -> str:
    """Return the ISO 3166-2 code of the province a name refers to.

    Accepts English, ISO and older transliterations in any case, with or without diacritics,
    hyphens, apostrophes and administrative words ("Province of", "Wilayat-e"), names in Dari
    or Pashto script (Arabic or Persian letter forms), and the ISO code itself. A spelling the
    rules had to correct ("Nangarhr") is accepted; :func:`resolve_name` and
    :func:`resolution_report` say which were.

    Parameters
    ----------
    text : str
        A province name, in any supported spelling.

    Returns
    -------
    str
        The ISO 3166-2 code, for example ``"AF-NAN"``.

    Raises
    ------
    UnknownProvinceError
        If ``text`` is empty or missing (reason ``"empty"``), names no province (with up to
        three suggestions), names a town rather than a province, is a common English word,
        or is ambiguous (reason ``"ambiguous: ..."``).

    Examples
    --------
    >>> resolve_province("Nangarhar Province")
    'AF-NAN'
    >>> resolve_province("Sar-i-Pul")
    'AF-SAR'
    >>> resolve_province("ولایت کنر")
    'AF-KNR'
    >>> resolve_province("af nan")
    'AF-NAN'
    """
    if _is_missing(text):
        raise UnknownProvinceError(text, (), "empty")
    code, _, reason, suggestions = _resolve_text(str(text))
    if code is None:
        raise UnknownProvinceError(text, suggestions, reason)
    return code


def _as_object_array(values) -> np.ndarray:
    if isinstance(values, str):
        raise TypeError("values must be a sequence of names; use resolve_province for one name")
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object, na_value=None)
    if isinstance(values, np.ndarray):
        return values.astype(object).ravel()
    if not isinstance(values, Iterable):
        raise TypeError(f"values must be a sequence of names, not {type(values).__name__}")
    return np.array(list(values), dtype=object)


def resolve_provinces(values, errors: str = "raise") -> np.ndarray:
    """Resolve many province names at once.

    Each distinct value is resolved once, so a column of a million rows with a few hundred
    spellings costs little more than the hashing of its values. Spellings the rules had to
    correct are accepted, as by :func:`resolve_province`; :func:`resolution_report` on the
    same values says which they were.

    Parameters
    ----------
    values : sequence of str, numpy.ndarray or pandas.Series
        Province names in any spelling :func:`resolve_province` accepts.
    errors : {"raise", "coerce"}, default "raise"
        ``"raise"``: raise one error listing every distinct bad value (empty values
        included). ``"coerce"``: give None for values that name no province.

    Returns
    -------
    numpy.ndarray
        Object array of ISO codes (or None), as long as ``values``.

    Raises
    ------
    UnknownProvincesError
        With ``errors="raise"``, if any value names no province; its ``problems`` attribute
        holds one :class:`~khorasan_map.errors.UnknownProvinceError` per distinct bad value.
    ValueError
        If ``errors`` is not ``"raise"`` or ``"coerce"``.

    Examples
    --------
    >>> resolve_provinces(["Kabul", "kabul province", "کابل", "Jalalabad"], errors="coerce")
    array(['AF-KAB', 'AF-KAB', 'AF-KAB', None], dtype=object)
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', not {errors!r}")
    array = _as_object_array(values)
    if len(array) == 0:
        return np.empty(0, dtype=object)
    positions, uniques = pd.factorize(array, use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=object)
    codes = np.empty(len(uniques), dtype=object)
    bad = []
    for i, value in enumerate(uniques):
        try:
            codes[i] = resolve_province(value)
        except UnknownProvinceError as exc:
            codes[i] = None
            bad.append((i, exc))
    if bad and errors == "raise":
        counts = np.bincount(positions, minlength=len(uniques))
        firsts = {i: int(np.argmax(positions == i)) for i, _ in bad}
        bad.sort(key=lambda item: firsts[item[0]])
        raise UnknownProvincesError(
            [exc for _, exc in bad], [(int(counts[i]), firsts[i]) for i, _ in bad]
        )
    return codes[positions]


def resolution_report(values) -> pd.DataFrame:
    """Say how each distinct value of a column of province names was read.

    The report keeps the text as given beside the code it resolved to, so an output can show
    both; filter ``method == "corrected"`` for the spellings the rules had to correct.

    Parameters
    ----------
    values : sequence of str, numpy.ndarray or pandas.Series
        Province names (or codes) in any spelling.

    Returns
    -------
    pandas.DataFrame
        One row per distinct value, in order of first appearance, with columns ``given``
        (as given), ``code`` and ``name`` (None when refused), ``method`` (one of
        :data:`RESOLUTION_METHODS`), ``suggestions`` (``"; "``-separated, for refused
        values), ``reason`` and ``count`` (how many values held it).

    Examples
    --------
    >>> report = resolution_report(["Kunar", "Kunarr", "Pakita", "Kunar", "cable"])
    >>> report[["given", "code", "method", "count"]].values.tolist()
    [['Kunar', 'AF-KNR', 'exact', 2], ['Kunarr', 'AF-KNR', 'corrected', 1], \
['Pakita', None, 'ambiguous', 1], ['cable', None, 'unknown', 1]]
    """
    array = _as_object_array(values)
    positions, uniques = pd.factorize(array, use_na_sentinel=False)
    found = [resolve_name(value) for value in np.asarray(uniques, dtype=object)]
    return pd.DataFrame(
        {
            "given": pd.Series([r.given for r in found], dtype=object),
            "code": pd.Series([r.code for r in found], dtype=object),
            "name": pd.Series([r.name for r in found], dtype=object),
            "method": [r.method for r in found],
            "suggestions": ["; ".join(r.suggestions) for r in found],
            "reason": pd.Series([r.reason for r in found], dtype=object),
            "count": np.bincount(positions, minlength=len(found)).astype(np.int64),
        }
    )


def _choices() -> tuple[list[str], list[str]]:
    choices, owners = [], []
    for code, names in _SPELLINGS.items():
        for name in names:
            for tokens in _parts(name):
                word = "".join(_strip_affixes(tokens))
                if word:
                    choices.append(word)
                    owners.append(code)
    return choices, owners


_CHOICES, _OWNERS = _choices()


def suggest_provinces(text, limit: int = 3) -> list[str]:
    """Return the provinces whose names look most like ``text``, best first.

    Suggestions only: nothing is resolved by similarity.

    Parameters
    ----------
    text : str
        Any text.
    limit : int, default 3
        Maximum number of suggestions.

    Returns
    -------
    list of str
        Labels of the form ``"Name (CODE)"``; empty if nothing is similar enough.

    Examples
    --------
    >>> suggest_provinces("Nangahar")[0]
    'Nangarhar (AF-NAN)'
    >>> suggest_provinces("Charikar")
    ['Parwan (AF-PAR)']
    """
    if _is_missing(text):
        return []
    found: dict[str, float] = dict.fromkeys(_codes_of_words(str(text)), 150.0)
    for tokens in _parts(str(text)):
        stripped = _strip_affixes(tokens)
        word = "".join(stripped)
        if not word:
            continue
        key = _skeleton(stripped)
        if key in _CAPITAL_INDEX:
            found[_CAPITAL_INDEX[key][0]] = 200.0
        for _, score, index in process.extract(
            word, _CHOICES, scorer=fuzz.ratio, limit=20, score_cutoff=70
        ):
            code = _OWNERS[index]
            found[code] = max(found.get(code, 0.0), score)
    ranked = sorted(found, key=lambda code: -found[code])
    return [_label(code) for code in ranked[:limit]]


@functools.cache
def _province_table() -> pd.DataFrame:
    return _raw_table()[_TABLE_COLUMNS].copy()


def province_table() -> pd.DataFrame:
    """Return the 34 provinces with their codes and names.

    Returns
    -------
    pandas.DataFrame
        34 rows, columns ``province_code`` (ISO 3166-2), ``province`` (English),
        ``iso_name`` (ISO 3166-2 name, with diacritics) and ``province_dari``. A copy: changing
        it changes nothing else.

    Examples
    --------
    >>> table = province_table()
    >>> len(table), list(table.columns)
    (34, ['province_code', 'province', 'iso_name', 'province_dari'])
    """
    return _province_table().copy()


def province_name(code: str) -> str:
    """Return the English name of a province from its ISO 3166-2 code.

    Parameters
    ----------
    code : str
        An ISO 3166-2 code such as ``"AF-KNR"`` (case and separators are forgiven).

    Returns
    -------
    str
        The English name used on the maps.

    Raises
    ------
    UnknownProvinceError
        If ``code`` is not one of :data:`PROVINCE_CODES`.

    Examples
    --------
    >>> province_name("AF-KNR")
    'Kunar'
    """
    normal = normalise_province_code(code)
    if normal not in _NAMES:
        raise UnknownProvinceError(
            code, suggest_provinces(code) if isinstance(code, str) else (), "not an ISO code"
        )
    return _NAMES[normal]
