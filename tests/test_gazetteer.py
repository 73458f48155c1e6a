"""Tests of the province-name resolver (khorasan_map.gazetteer).

The spellings are literals copied from the project's research table of province names
(iso_3166_2, name, iso_name, dari, gadm_name, variants) plus families it does not list.
"""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pandas as pd
import pytest

from khorasan_map import gazetteer
from khorasan_map.errors import UnknownProvinceError
from khorasan_map.gazetteer import (
    PROVINCE_CODES,
    UnknownProvincesError,
    province_name,
    province_table,
    resolve_province,
    resolve_provinces,
    suggest_provinces,
)

# Every spelling of the research table, row by row: code, name, iso_name, dari, gadm, variants.
RESEARCH = [
    ("AF-BAL", "Balkh", "Balkh", "بلخ", "Balkh", ""),
    ("AF-BAM", "Bamyan", "Bāmyān", "بامیان", "Bamyan", "bamian; bamiyan"),
    ("AF-BDG", "Badghis", "Bādghīs", "بادغیس", "Badghis", "badghes; badghisat"),
    ("AF-BDS", "Badakhshan", "Badakhshān", "بدخشان", "Badakhshan", "badahsan; badakshan"),
    ("AF-BGL", "Baghlan", "Baghlān", "بغلان", "Baghlan", "baglan; bughlan"),
    ("AF-DAY", "Daykundi", "Dāykundī", "دایکندی", "Daykundi", "daikundi; dai kundi; dāykundī"),
    ("AF-FRA", "Farah", "Farāh", "فراه", "Farah", ""),
    ("AF-FYB", "Faryab", "Fāryāb", "فاریاب", "Faryab", "fariab; faryob"),
    ("AF-GHA", "Ghazni", "Ghaznī", "غزنی", "Ghazni", "gazni; ghazna"),
    ("AF-GHO", "Ghor", "Ghōr", "غور", "Ghor", "ghur; ghour"),
    ("AF-HEL", "Helmand", "Helmand", "هلمند", "Hilmand", "hilmand; helmend; hilmend"),
    ("AF-HER", "Herat", "Herāt", "هرات", "Hirat", "hirat; harat; herāt"),
    ("AF-JOW", "Jowzjan", "Jowzjān", "جوزجان", "Jawzjan", "jawzjan; jozjan; juzjan; jouzjan"),
    ("AF-KAB", "Kabul", "Kābul", "کابل", "Kabul", "kabol"),
    ("AF-KAN", "Kandahar", "Kandahār", "قندهار", "Kandahar", "qandahar; kandahār"),
    ("AF-KAP", "Kapisa", "Kāpīsā", "کاپیسا", "Kapisa", "kapesa"),
    ("AF-KDZ", "Kunduz", "Kunduz", "کندز", "Kunduz", ""),
    ("AF-KHO", "Khost", "Khōst", "خوست", "Khost", ""),
    ("AF-KNR", "Kunar", "Kunaṟ", "کنر", "Kunar", "konar; kunaṟ"),
    ("AF-LAG", "Laghman", "Laghmān", "لغمان", "Laghman", "lagman; laghmān"),
    ("AF-LOG", "Logar", "Lōgar", "لوگر", "Logar", "loghar"),
    ("AF-NAN", "Nangarhar", "Nangarhār", "ننگرهار", "Nangarhar", "ningarhar; nangrahar"),
    ("AF-NIM", "Nimroz", "Nīmrōz", "نیمروز", "Nimroz", "nimruz; nimroze"),
    ("AF-NUR", "Nuristan", "Nūristān", "نورستان", "Nuristan", ""),
    ("AF-PAN", "Panjshir", "Panjshayr", "پنجشیر", "Panjshir", "panjsher; panjshayr"),
    ("AF-PAR", "Parwan", "Parwān", "پروان", "Parwan", ""),
    ("AF-PIA", "Paktia", "Paktiyā", "پکتیا", "Paktya", "paktya; paktiya; paktiyā"),
    ("AF-PKA", "Paktika", "Paktīkā", "پکتیکا", "Paktika", "paktīkā"),
    ("AF-SAM", "Samangan", "Samangān", "سمنگان", "Samangan", ""),
    (
        "AF-SAR",
        "Sar-e Pol",
        "Sar-e Pul",
        "سر پل",
        "Sari Pul",
        "sari pul; sar-e pul; saripul; saripol; sar-e-pol",
    ),
    ("AF-TAK", "Takhar", "Takhār", "تخار", "Takhar", "takar"),
    ("AF-URU", "Uruzgan", "Uruzgān", "اورزگان", "Uruzgan", "uruzgān; urōzgān"),
    (
        "AF-WAR",
        "Wardak",
        "Wardak",
        "میدان وردگ",
        "Wardak",
        "vardak; maidan wardak; maydan wardak",
    ),
    ("AF-ZAB", "Zabul", "Zābul", "زابل", "Zabul", ""),
]


def research_spellings():
    for code, name, iso_name, dari, gadm, variants in RESEARCH:
        names = [name, iso_name, dari, gadm] + [v.strip() for v in variants.split(";") if v]
        for spelling in dict.fromkeys(names):
            yield code, spelling


# Spellings the research table does not list, by family.
UNLISTED = {
    "AF-NAN": ["Nangrahar", "Ningarhar", "Ningrahar", "NANGARHAR", "nangar-har", "Nangarhaar"],
    "AF-HEL": ["Helmund", "Hilmend", "Helmandd"],
    "AF-KNR": ["Kunarr", "Koonar", "Kounar", "Kunaṛ", "KUNAR"],
    "AF-KDZ": ["Qonduz", "Konduz", "Kondoz", "Qunduz", "Koonduz", "Kundooz"],
    "AF-JOW": ["Jouzjan", "Jowzjaan", "Jauzjan", "Jozjān"],
    "AF-URU": ["Urozgan", "Oruzgan", "Orozgan", "Uruzgaan", "Oruzgān"],
    "AF-PIA": ["Paktiya", "Pactia", "Paktiā", "Paktiyaa", "Pakteea"],
    "AF-PKA": ["Paktica", "Paktyka", "Paktiqa", "Paktikaa", "Pakteeka"],
    "AF-KHO": ["Khowst", "Khoust", "Qhost", "Khosst"],
    "AF-WAR": ["Wardag", "Vardag", "Wardagh", "Maidan Wardag", "Maidan-Wardak", "Meydan Vardak"],
    "AF-BAM": ["Bamiyan", "Baamyan", "Bāmiyān", "Bameyan"],
    "AF-BDS": ["Badakshan", "Badakhshaan", "Badachshan", "Badakhsan"],
    "AF-NIM": ["Nimrooz", "Neemroz", "Nimrūz"],
    "AF-FYB": ["Faryaab", "Faryāb", "Fariyab"],
    "AF-DAY": ["Dykundi", "Daikondi", "Daykundī", "Day-Kundi", "Dai Kondi"],
    "AF-PAN": ["Panjsher", "Panjshēr", "Panjsheer", "Panj Shir"],
    "AF-BGL": ["Baghlaan", "Bağlan", "Bughlaan"],
    "AF-SAR": [
        "Sarepul",
        "Sar-e Pol",
        "Sar-i-Pul",
        "Sari Pul",
        "Sar e Pol",
        "Saripul",
        "Sar-e-Pol",
        "Sar i Pol",
        "Sarpol",
        "Sar-e-Pul",
        "Sar-I-Pol",
    ],
    "AF-KAN": ["Kandhar", "Qandahaar", "Candahar", "Kandaher", "Kandhr"],
    "AF-GHO": ["Ghowr", "Ghoor", "Gor"],
    "AF-GHA": ["Ghaznee", "Gazni", "Ghazny"],
    "AF-LOG": ["Lowgar", "Lougar", "Logaar"],
    "AF-LAG": ["Laghmaan", "Lagmān"],
    "AF-NUR": ["Nooristan", "Nurestan", "Nuristaan", "Nurstan"],
    "AF-PAR": ["Parvan", "Parwaan", "Parvān"],
    "AF-KAB": ["Kaboul", "Kabool", "Kābol"],
    "AF-ZAB": ["Zabol", "Zaabul", "Zābol"],
    "AF-KAP": ["Kapissa", "Kāpisā", "Kapeesa"],
    "AF-HER": ["Herāt", "Hérat", "Heraat"],
    "AF-SAM": ["Samangaan", "Semangan"],
    "AF-TAK": ["Takhaar", "Taqhar"],
    "AF-FRA": ["Farrah", "Farāh"],
    "AF-BDG": ["Badghees", "Badgheis"],
    "AF-BAL": ["BALKH", "Bałkh"],
}

AFFIXED = [
    ("Nangarhar province", "AF-NAN"),
    ("Nangarhar Province", "AF-NAN"),
    ("Province of Nangarhar", "AF-NAN"),
    ("the Province of Kunar", "AF-KNR"),
    ("Kabul Province", "AF-KAB"),
    ("Kabul Prov.", "AF-KAB"),
    ("Wilayat-e Kabul", "AF-KAB"),
    ("Wilayat-i-Herat", "AF-HER"),
    ("Velayat-e Helmand", "AF-HEL"),
    ("Welayat-e Khost", "AF-KHO"),
    ("wilayah Nangarhar", "AF-NAN"),
    ("Vilayat Balkh", "AF-BAL"),
    ("Wilayat-e Sar-e Pol", "AF-SAR"),
    ("Sar-e Pol Province", "AF-SAR"),
    ("Maidan Wardak Province", "AF-WAR"),
    ("Kunar Province, Afghanistan", "AF-KNR"),
    ("Kunar (Afghanistan)", "AF-KNR"),
    ("  paktika   province ", "AF-PKA"),
    ("PAKTIA PROVINCE", "AF-PIA"),
]

DARI = [
    ("ننگرهار", "AF-NAN"),
    ("ولایت ننگرهار", "AF-NAN"),
    ("ولايت ننگرهار", "AF-NAN"),  # Arabic yeh in "ولایت"
    ("ولایت\u200cننگرهار", "AF-NAN"),  # zero-width non-joiner after "ولایت"
    ("ننگرهار ولایت", "AF-NAN"),
    ("ولایتِ ننگرهار", "AF-NAN"),  # kasra
    ("ننګرهار", "AF-NAN"),  # Pashto gaf
    ("نـنـگـرهـار", "AF-NAN"),  # tatweel
    ("سر پل", "AF-SAR"),
    ("سرپل", "AF-SAR"),
    ("سر\u200cپل", "AF-SAR"),  # zero-width non-joiner
    ("سرِ پل", "AF-SAR"),
    ("سرپول", "AF-SAR"),
    ("میدان وردگ", "AF-WAR"),
    ("میدان وردک", "AF-WAR"),
    ("ميدان وردك", "AF-WAR"),  # Arabic yeh and kaf
    ("وردک", "AF-WAR"),
    ("وردگ", "AF-WAR"),
    ("پکتیا", "AF-PIA"),
    ("پکتيا", "AF-PIA"),  # Arabic yeh
    ("پكتيا", "AF-PIA"),  # Arabic kaf and yeh
    ("پک\u200dتیا", "AF-PIA"),  # zero-width joiner
    ("پکتیکا", "AF-PKA"),
    ("پكتيكا", "AF-PKA"),
    ("کنر", "AF-KNR"),
    ("كنر", "AF-KNR"),
    ("کونړ", "AF-KNR"),  # Pashto
    ("کُنَر", "AF-KNR"),  # short-vowel marks
    ("کندز", "AF-KDZ"),
    ("قندوز", "AF-KDZ"),
    ("قندهار", "AF-KAN"),
    ("کندهار", "AF-KAN"),
    ("غزني", "AF-GHA"),  # Arabic yeh at the end
    ("غزنى", "AF-GHA"),  # alef maksura
    ("ﻏﺰﻧﯽ", "AF-GHA"),  # presentation forms
    ("هرات", "AF-HER"),
    ("ارزگان", "AF-URU"),
    ("اروزګان", "AF-URU"),
    ("استان کابل", "AF-KAB"),
    ("دایکندی", "AF-DAY"),
    ("دايكندي", "AF-DAY"),
    ("فراه", "AF-FRA"),
    ("Kunar (کنر)", "AF-KNR"),
    ("Nangarhar / ننگرهار", "AF-NAN"),
]

CODES = [
    ("AF-NAN", "AF-NAN"),
    ("af-nan", "AF-NAN"),
    ("af nan", "AF-NAN"),
    ("AF_KNR", "AF-KNR"),
    ("AFKDZ", "AF-KDZ"),
    (" AF-SAR ", "AF-SAR"),
]


@pytest.mark.parametrize(("code", "spelling"), list(research_spellings()))
def test_every_research_spelling_resolves(code, spelling):
    assert resolve_province(spelling) == code


@pytest.mark.parametrize(
    ("code", "spelling"), [(c, s) for c, names in UNLISTED.items() for s in names]
)
def test_unlisted_spellings_of_known_families(code, spelling):
    assert resolve_province(spelling) == code


@pytest.mark.parametrize(("text", "code"), AFFIXED + DARI + CODES)
def test_affixes_dari_and_codes(text, code):
    assert resolve_province(text) == code


@pytest.mark.parametrize(
    "text",
    ["Nangarhar", "nangarhar", "NANGARHAR", "Nangrhar", "Nan-gar-har", "Nangarhar.", "'Nangarhar'"],
)
def test_case_punctuation_and_spacing(text):
    assert resolve_province(text) == "AF-NAN"


PAKTIA = ["Paktia", "Paktya", "Paktiya", "Paktiyā", "Pactia", "paktiaa", "پکتیا", "پكتيا"]
PAKTIKA = ["Paktika", "Paktīkā", "Paktica", "Paktyka", "paktikaa", "پکتیکا", "پكتيكا"]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(PAKTIA, PAKTIKA)))
def test_paktia_is_never_paktika(a, b):
    assert resolve_province(a) == "AF-PIA"
    assert resolve_province(b) == "AF-PKA"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kunar", "AF-KNR"),
        ("Konar", "AF-KNR"),
        ("Kunaṟ", "AF-KNR"),
        ("کنر", "AF-KNR"),
        ("Kunduz", "AF-KDZ"),
        ("Konduz", "AF-KDZ"),
        ("Qunduz", "AF-KDZ"),
        ("کندز", "AF-KDZ"),
        ("Zabul", "AF-ZAB"),
        ("Zabol", "AF-ZAB"),
        ("زابل", "AF-ZAB"),
        ("Kabul", "AF-KAB"),
        ("Kabol", "AF-KAB"),
        ("کابل", "AF-KAB"),
        ("Ghor", "AF-GHO"),
        ("Ghazni", "AF-GHA"),
        ("Bamyan", "AF-BAM"),
        ("Badghis", "AF-BDG"),
        ("Badakhshan", "AF-BDS"),
        ("Baghlan", "AF-BGL"),
        ("Kandahar", "AF-KAN"),
        ("Kapisa", "AF-KAP"),
        ("Logar", "AF-LOG"),
        ("Laghman", "AF-LAG"),
    ],
)
def test_neighbours_in_spelling_stay_apart(text, code):
    assert resolve_province(text) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Charikar", "Parwan (AF-PAR)"),
        ("Jalalabad", "Nangarhar (AF-NAN)"),
        ("Mazar-i-Sharif", "Balkh (AF-BAL)"),
        ("Lashkar Gah", "Helmand (AF-HEL)"),
        ("Maidan Shahr", "Wardak (AF-WAR)"),
        ("Asadabad", "Kunar (AF-KNR)"),
    ],
)
def test_towns_raise_and_name_their_province(text, expected):
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(text)
    assert info.value.suggestions[0] == expected
    assert "town" in info.value.reason
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    "text", ["Pakistan", "Kabul city", "Nangarhar District", "Tehran", "AF-XXX", "Paris"]
)
def test_other_places_raise(text):
    with pytest.raises(UnknownProvinceError):
        resolve_province(text)


@pytest.mark.parametrize(
    ("text", "code"), [("pocket", "AF-PIA"), ("bulky", "AF-BAL"), ("lager", "AF-LOG")]
)
def test_consonants_alone_do_not_resolve(text, code):
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(text)
    assert "consonants" in info.value.reason
    assert code in info.value.suggestions[0]


@pytest.mark.parametrize(
    ("text", "code"),
    [("Nngrhr", "AF-NAN"), ("Pktk", "AF-PKA"), ("Hlmnd", "AF-HEL"), ("Knr", "AF-KNR")],
)
def test_consonant_abbreviations_resolve(text, code):
    assert resolve_province(text) == code


@pytest.mark.parametrize("text", ["", "   ", None, float("nan"), np.nan, pd.NA])
def test_empty_raises_with_reason_empty(text):
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(text)
    assert info.value.reason == "empty"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["Province", "Wilayat", "ولایت", "Afghanistan"])
def test_affix_alone_raises(text):
    with pytest.raises(UnknownProvinceError):
        resolve_province(text)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Paktia/Paktika", ("AF-PIA", "AF-PKA")),
        ("Kunar or Kunduz", ("AF-KNR", "AF-KDZ")),
        ("Kunar (کندز)", ("AF-KNR", "AF-KDZ")),
    ],
)
def test_two_provinces_are_ambiguous(text, codes):
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(text)
    assert info.value.reason.startswith("ambiguous")
    for code in codes:
        assert any(code in s for s in info.value.suggestions)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("Nangahar", "Nangarhar (AF-NAN)"),
        ("Nangarar", "Nangarhar (AF-NAN)"),
        ("Kandahat", "Kandahar (AF-KAN)"),
        ("Helmad", "Helmand (AF-HEL)"),
        ("Badakhsham", "Badakhshan (AF-BDS)"),
        ("Nuristam", "Nuristan (AF-NUR)"),
        ("Ghazmi", "Ghazni (AF-GHA)"),
        ("ننگرها", "Nangarhar (AF-NAN)"),
    ],
)
def test_typos_raise_with_the_right_suggestion(typo, expected):
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(typo)
    assert expected in info.value.suggestions
    assert len(info.value.suggestions) <= 3
    assert expected in str(info.value)


def test_suggest_provinces_limit_and_format():
    assert suggest_provinces("Kandhar")[0] == "Kandahar (AF-KAN)"
    assert len(suggest_provinces("Pak", limit=1)) <= 1
    assert suggest_provinces("") == []
    assert suggest_provinces("zzzzzzzz") == []


def test_no_two_provinces_share_a_skeleton():
    index = gazetteer._build_index(gazetteer._spellings())
    assert set(index.values()) == set(PROVINCE_CODES)
    table = {}
    for code, spelling in research_spellings():
        for key in gazetteer._keys(spelling):
            assert table.setdefault(key, code) == code, (spelling, key, table[key])


def test_collision_is_detected():
    with pytest.raises(RuntimeError, match="confused"):
        gazetteer._build_index({"AF-PIA": ["Paktia"], "AF-PKA": ["Paktya"]})


def test_skeletons_of_close_pairs_differ():
    pairs = [
        ("Paktia", "Paktika"),
        ("Kunar", "Kunduz"),
        ("Zabul", "Kabul"),
        ("Ghor", "Ghazni"),
        ("Bamyan", "Badghis"),
        ("کنر", "کندز"),
        ("پکتیا", "پکتیکا"),
    ]
    for a, b in pairs:
        assert gazetteer._keys(a) != gazetteer._keys(b)


def test_resolve_provinces_coerce():
    values = ["Kabul", "kabul province", "کابل", "Charikar", None, "", "Kunar", "Kabul"]
    out = resolve_provinces(values, errors="coerce")
    assert isinstance(out, np.ndarray)
    assert out.dtype == object
    assert list(out) == ["AF-KAB", "AF-KAB", "AF-KAB", None, None, None, "AF-KNR", "AF-KAB"]


def test_resolve_provinces_accepts_series_and_arrays():
    series = pd.Series(["Kunar", pd.NA, "Konar"], dtype="string")
    assert list(resolve_provinces(series, errors="coerce")) == ["AF-KNR", None, "AF-KNR"]
    array = np.array(["Paktia", "Paktika"])
    assert list(resolve_provinces(array)) == ["AF-PIA", "AF-PKA"]
    assert len(resolve_provinces([])) == 0


def test_resolve_provinces_raise_lists_every_bad_value_once():
    values = ["Kabul", "Charikar", "Nangahar", "Charikar", "Kunar", ""]
    with pytest.raises(UnknownProvincesError) as info:
        resolve_provinces(values)
    error = info.value
    assert isinstance(error, UnknownProvinceError)
    assert isinstance(error, ValueError)
    assert [p.text for p in error.problems] == ["Charikar", "Nangahar", ""]
    assert error.rows == [(2, 1), (1, 2), (1, 5)]
    message = str(error)
    assert "3 distinct values" in message
    assert "Parwan (AF-PAR)" in message
    assert "Nangarhar (AF-NAN)" in message
    assert "empty" in message


def test_resolve_provinces_rejects_bad_arguments():
    with pytest.raises(ValueError, match="'raise' or 'coerce'"):
        resolve_provinces(["Kabul"], errors="ignore")
    with pytest.raises(TypeError):
        resolve_provinces("Kabul")


def test_province_table():
    table = province_table()
    assert list(table.columns) == ["province_code", "province", "iso_name", "province_dari"]
    assert len(table) == 34
    assert table["province_code"].is_unique
    assert tuple(sorted(table["province_code"])) == PROVINCE_CODES
    table.loc[0, "province"] = "changed"
    assert province_table().loc[0, "province"] != "changed"


def test_table_matches_research_facts():
    table = province_table().set_index("province_code")
    for code, name, iso_name, dari, _, _ in RESEARCH:
        assert table.loc[code, "province"] == name
        assert table.loc[code, "iso_name"] == iso_name
        assert table.loc[code, "province_dari"] == dari


def test_every_table_name_resolves_to_its_row():
    for row in province_table().itertuples(index=False):
        for text in (row.province, row.iso_name, row.province_dari, row.province_code):
            assert resolve_province(text) == row.province_code


def test_province_codes_and_names():
    assert len(PROVINCE_CODES) == 34
    assert province_name("AF-NAN") == "Nangarhar"
    assert province_name("af-sar") == "Sar-e Pol"
    with pytest.raises(UnknownProvinceError):
        province_name("AF-XXX")
    with pytest.raises(UnknownProvinceError):
        province_name("Nangarhar")


def test_codes_agree_with_pycountry():
    pycountry = pytest.importorskip("pycountry")
    official = {s.code for s in pycountry.subdivisions.get(country_code="AF")}
    assert set(PROVINCE_CODES) == official


def test_docstring_examples():
    result = doctest.testmod(gazetteer, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 5


# --- how a name was read: resolve_name and resolution_report --------------------------------


@pytest.mark.parametrize(
    ("text", "code", "method"),
    [
        ("Nangarhar", "AF-NAN", "exact"),
        ("Nangarhār", "AF-NAN", "exact"),
        ("ننگرهار", "AF-NAN", "exact"),
        ("AF-NAN", "AF-NAN", "exact"),
        ("nangarhar", "AF-NAN", "normalised"),
        ("  Nangarhar ", "AF-NAN", "normalised"),
        ("Nangarhar Province", "AF-NAN", "normalised"),
        ("Wilayat-e Kunar", "AF-KNR", "normalised"),
        ("NANGARHĀR", "AF-NAN", "normalised"),
        ("ولایت ننگرهار", "AF-NAN", "normalised"),
        ("پكتيا", "AF-PIA", "normalised"),
        ("af_nan", "AF-NAN", "normalised"),
        ("AFKAN", "AF-KAN", "normalised"),
        ("Sar e Pol", "AF-SAR", "normalised"),
        ("Maidan Vardak", "AF-WAR", "normalised"),
        ("Kunar (کنر)", "AF-KNR", "normalised"),
        ("Nangarhr", "AF-NAN", "corrected"),
        ("Kunarr", "AF-KNR", "corrected"),
        ("Kaboul", "AF-KAB", "corrected"),
        ("Nngrhr", "AF-NAN", "corrected"),
        ("Maidan Wardag", "AF-WAR", "normalised"),
    ],
)
def test_resolve_name_says_how(text, code, method):
    found = gazetteer.resolve_name(text)
    assert (found.code, found.method) == (code, method)
    assert found.given == text
    assert found.name == province_name(code)
    assert (found.reason is None) == (method != "corrected")
    assert resolve_province(text) == code


def test_corrected_spellings_keep_the_original_and_say_so():
    report = gazetteer.resolution_report(["Nangarhr", "Kunarr", "Nangarhar"])
    assert report["given"].tolist() == ["Nangarhr", "Kunarr", "Nangarhar"]
    assert report["code"].tolist() == ["AF-NAN", "AF-KNR", "AF-NAN"]
    assert report["method"].tolist() == ["corrected", "corrected", "exact"]
    assert "Nangarhar (AF-NAN)" in report["reason"].iloc[0]


@pytest.mark.parametrize(
    ("text", "codes"),
    [("Pakita", ("AF-PIA", "AF-PKA")), ("pakita province", ("AF-PIA", "AF-PKA"))],
)
def test_a_spelling_as_close_to_two_provinces_is_ambiguous(text, codes):
    found = gazetteer.resolve_name(text)
    assert found.code is None and found.method == "ambiguous"
    assert [s[-7:-1] for s in found.suggestions] == list(codes)
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(text)
    assert info.value.reason.startswith("ambiguous")
    assert "Paktia (AF-PIA)" in str(info.value) and "Paktika (AF-PKA)" in str(info.value)


def test_listed_spellings_are_never_ambiguous():
    for code, names in gazetteer._SPELLINGS.items():
        for name in names:
            assert gazetteer.resolve_name(name).method == "exact", name
            assert gazetteer.resolve_name(name.upper()).code == code, name


# Common English words, written for this test (a few share a province's skeleton).
COMMON_WORDS = """
the be to of and a in that have it for not on with he as you do at this but his by from they we
say her she or an will my one all would there their what so up out if about who get which go me
when make can like time no just him know take people into year your good some could them see
other than then now look only come its over think also back after use two how our work first
well way even new want because any these give day most us cable coast cost cast pact heart hart
gore gory guru black block bulk balk taker kinds sable cabal canary capes caps condos copes
coupes cyst logger legman hereto numerous sharply pharaoh parvenu grower bowman badges budgies
city town district village market road river valley mountain border police army soldier attack
bomb camp base hill north south east west central province capital school hospital mosque bridge
kabob cobble cable car calculate helmet herald hermit lager logo lagoon faro farm forum garden
gather ghost host hostel khaki candle candy kennel tailor tucker token cactus pocket bulky
""".split()


@pytest.mark.parametrize("word", COMMON_WORDS)
def test_common_english_words_never_resolve(word):
    for text in (word, word.capitalize(), word.upper()):
        found = gazetteer.resolve_name(text)
        assert found.code is None, (text, found)


@pytest.mark.parametrize(("word", "suggestion"), [("cable", "AF-KAB"), ("Coast", "AF-KHO")])
def test_english_words_are_refused_with_a_suggestion(word, suggestion):
    with pytest.raises(UnknownProvinceError) as info:
        resolve_province(word)
    assert "English word" in info.value.reason
    assert suggestion in info.value.suggestions[0]


# Spelling families, held out: the rules were tuned on Badakhchan, Pandjchir, Djozdjan,
# Kundus, Nimros, Ghasni, Ghorat, Ghowrat, غورات, Kaboul, Badachschan and Ourouzgan; the lists
# below were written before they were first run, and none is in the package table (two that
# turned out to be listed, Ghour and Bâmiyân, were replaced by Gour and Bâmyoun). Only two
# provinces have "sh", so the "ch" list stays close to the tuned examples. 104 of 106 passed on
# the first run; the two doubled-letter failures (Balkhh, Takhharr) led to collapsing doubled
# consonants before the digraph rules.
HELD_OUT = {
    "Dari plural -at": [
        ("Ghurat", "AF-GHO"), ("Ghoraat", "AF-GHO"), ("Gorat", "AF-GHO"),
        ("Badghesat", "AF-BDG"), ("Badgisat", "AF-BDG"), ("بادغیسات", "AF-BDG"),
        ("ولایت غورات", "AF-GHO"), ("Ghowrat Province", "AF-GHO"), ("Ghourat", "AF-GHO"),
    ],
    # Kunarha (کنرها) is the old name of Kunar and the rule was written for it; these variants
    # were checked once, after the rule (all passed), so they are not strictly held out.
    "Dari plural -ha": [
        ("Konarha", "AF-KNR"), ("Kunar-ha", "AF-KNR"), ("کونرها", "AF-KNR"),
        ("Konar-ha Province", "AF-KNR"), ("Kunarhā", "AF-KNR"),
    ],
    "French ch for sh": [
        ("Badakhchân", "AF-BDS"), ("Badakchan", "AF-BDS"), ("Pandjchêr", "AF-PAN"),
        ("Panjchir", "AF-PAN"), ("Pendjchir", "AF-PAN"), ("Pandjcher", "AF-PAN"),
        ("Badakhchane", "AF-BDS"),
    ],
    "French ou for u": [
        ("Kounar", "AF-KNR"), ("Koundouz", "AF-KDZ"), ("Zaboul", "AF-ZAB"),
        ("Nouristan", "AF-NUR"), ("Nimrouz", "AF-NIM"), ("Ouroûzgân", "AF-URU"),
        ("Gour", "AF-GHO"), ("Sar-e Poul", "AF-SAR"), ("Kâboul", "AF-KAB"),
        ("Lougar", "AF-LOG"), ("Djouzdjan", "AF-JOW"), ("Bâmyoun", "AF-BAM"),
    ],
    "French dj for j": [
        ("Djowzdjan", "AF-JOW"), ("Djauzdjan", "AF-JOW"), ("Djozjan", "AF-JOW"),
        ("Djawzdjan", "AF-JOW"), ("Pandjshir", "AF-PAN"), ("Djozdjân", "AF-JOW"),
    ],
    "s for z": [
        ("Nimrus", "AF-NIM"), ("Urusgan", "AF-URU"), ("Jowsjan", "AF-JOW"),
        ("Nimroos", "AF-NIM"), ("Ghasnī", "AF-GHA"), ("Orusgan", "AF-URU"),
        ("Qundus", "AF-KDZ"), ("Konduss", "AF-KDZ"), ("Sabul", "AF-ZAB"),
    ],
    "vowels": [
        ("Kandehar", "AF-KAN"), ("Kandahaar", "AF-KAN"), ("Helmaand", "AF-HEL"),
        ("Faraah", "AF-FRA"), ("Laghmaan", "AF-LAG"), ("Takhaar", "AF-TAK"),
        ("Deykundi", "AF-DAY"), ("Ghuzni", "AF-GHA"), ("Hiraat", "AF-HER"),
        ("Khoost", "AF-KHO"), ("Baadghis", "AF-BDG"), ("Konaar", "AF-KNR"),
        ("Zaabol", "AF-ZAB"), ("Bamyaan", "AF-BAM"), ("Nangarhaar", "AF-NAN"),
        ("Paktiyaa", "AF-PIA"), ("Paktikaa", "AF-PKA"), ("Samangaan", "AF-SAM"),
        ("Kapeesa", "AF-KAP"), ("Nuristaan", "AF-NUR"), ("Uruzgaan", "AF-URU"),
        ("Logaar", "AF-LOG"), ("Sar-e Paul", "AF-SAR"), ("Baghlaan", "AF-BGL"),
        ("Daikundy", "AF-DAY"), ("Kunduuz", "AF-KDZ"), ("Helmind", "AF-HEL"),
        ("Kandihar", "AF-KAN"), ("Badakhshon", "AF-BDS"), ("Jawzjon", "AF-JOW"),
        ("Samengan", "AF-SAM"), ("Laghmon", "AF-LAG"), ("Tokhar", "AF-TAK"),
        ("Parvon", "AF-PAR"), ("Faryoob", "AF-FYB"), ("Bodghis", "AF-BDG"),
        ("Kunor", "AF-KNR"), ("Zabool", "AF-ZAB"),
    ],
    "doubled letters": [
        ("Nangarrhar", "AF-NAN"), ("Kandaharr", "AF-KAN"), ("Jowzzjan", "AF-JOW"),
        ("Samanggan", "AF-SAM"), ("Paktikka", "AF-PKA"), ("Laghmann", "AF-LAG"),
        ("Balkhh", "AF-BAL"), ("Ghaznni", "AF-GHA"), ("Nimrozz", "AF-NIM"),
        ("Takhharr", "AF-TAK"), ("Farrahh", "AF-FRA"), ("Bamiyyan", "AF-BAM"),
        ("Kabbul", "AF-KAB"), ("Heratt", "AF-HER"), ("Khostt", "AF-KHO"),
        ("Kunnar", "AF-KNR"), ("Parrwan", "AF-PAR"), ("Baghllan", "AF-BGL"),
        ("Panjshiir", "AF-PAN"), ("Wardakk", "AF-WAR"),
        # written after the fix above, run once
        ("Ghhazni", "AF-GHA"), ("Badakhhshan", "AF-BDS"), ("Logarr", "AF-LOG"),
        ("Zabull", "AF-ZAB"), ("Kunduzz", "AF-KDZ"), ("Sammangan", "AF-SAM"),
        ("Jowzjjan", "AF-JOW"), ("Kandahhar", "AF-KAN"), ("Laghhman", "AF-LAG"),
    ],
}


@pytest.mark.parametrize(
    ("family", "text", "code"),
    [(family, text, code) for family, items in HELD_OUT.items() for text, code in items],
)
def test_held_out_spellings_of_each_family(family, text, code):
    found = gazetteer.resolve_name(text)
    assert found.code == code, (family, found)
    assert found.method == "corrected", (family, found)


# French ou before a vowel for w: the examples the rule was written for (not held out).
FRENCH_W = [("Parouan", "AF-PAR"), ("Parouân", "AF-PAR"), ("Ouardak", "AF-WAR"),
            ("Maïdan Ouardak", "AF-WAR")]


@pytest.mark.parametrize(("text", "code"), FRENCH_W)
def test_french_ou_before_a_vowel_reads_as_w(text, code):
    assert gazetteer.resolve_name(text).code == code
    assert resolve_province("Kounar") == "AF-KNR"  # ou before a consonant stays u


def test_resolution_of_missing_values_and_its_error():
    for value in (None, "", "  ", np.nan):
        found = gazetteer.resolve_name(value)
        assert (found.code, found.method, found.reason) == (None, "unknown", "empty")
    found = gazetteer.resolve_name("Pakita")
    error = found.error()
    assert isinstance(error, UnknownProvinceError)
    assert error.text == "Pakita" and error.suggestions == list(found.suggestions)


def test_plural_ending_is_not_stripped_from_a_name_that_has_it():
    assert resolve_province("Herat") == "AF-HER"
    assert gazetteer.resolve_name("Badghisat").method == "exact"
    with pytest.raises(UnknownProvinceError, match="town"):
        resolve_province("Qalat")


def test_resolution_report_columns_counts_and_missing():
    values = pd.Series(["Kunar", None, "Kunarr", "Kunar", "Atlantis", np.nan, "Pakita"])
    report = gazetteer.resolution_report(values)
    assert list(report.columns) == [
        "given", "code", "name", "method", "suggestions", "reason", "count",
    ]
    assert report["given"][[0, 2]].tolist() == ["Kunar", "Kunarr"]
    assert pd.isna(report.loc[1, "given"]) and report.loc[1, "code"] is None
    assert report["count"].tolist() == [2, 2, 1, 1, 1]
    assert report["method"].tolist() == ["exact", "unknown", "corrected", "unknown", "ambiguous"]
    assert report.loc[1, "reason"] == "empty"
    assert report.loc[4, "suggestions"] == "Paktia (AF-PIA); Paktika (AF-PKA)"
    assert set(report["method"]) <= set(gazetteer.RESOLUTION_METHODS)
    assert gazetteer.resolution_report([]).empty


def test_resolution_report_agrees_with_resolve_provinces():
    values = [s for items in HELD_OUT.values() for s, _ in items] + COMMON_WORDS[:40]
    report = gazetteer.resolution_report(values)
    codes = resolve_provinces(report["given"], errors="coerce")
    assert list(codes) == report["code"].tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AF-KAN", "AF-KAN"), ("AF_KAN", "AF-KAN"), ("afkan", "AF-KAN"), ("AF.KAN", "AF-KAN"),
        (" af kan ", "AF-KAN"), ("AF-XXX", "AF-XXX"), ("Kandahar", None), ("AF-KA", None),
        (None, None), (12, None),
    ],
)
def test_normalise_province_code(text, expected):
    assert gazetteer.normalise_province_code(text) == expected

