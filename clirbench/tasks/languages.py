"""Language codes from other tools, mapped to the card's ISO 639-3 + script form (``hau_Latn``)."""

from __future__ import annotations

from dataclasses import dataclass

from clirbench.tasks.card import UNKNOWN_LANGUAGE

# ISO 639-1, as ir_datasets and Hugging Face cards give languages. Where the two-letter code is a
# macrolanguage, the individual language the CLIR collections use: Swahili is swh (not swa),
# Persian pes, Arabic arb (Modern Standard). Chinese is assumed to be written in simplified script.
ISO_639_1 = {
    "af": "afr_Latn",
    "am": "amh_Ethi",
    "ar": "arb_Arab",
    "bn": "ben_Beng",
    "cs": "ces_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "ha": "hau_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "id": "ind_Latn",
    "ig": "ibo_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
    "nl": "nld_Latn",
    "ny": "nya_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ru": "rus_Cyrl",
    "rw": "kin_Latn",
    "sn": "sna_Latn",
    "so": "som_Latn",
    "sw": "swh_Latn",
    "te": "tel_Telu",
    "th": "tha_Thai",
    "ti": "tir_Ethi",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "vi": "vie_Latn",
    "xh": "xho_Latn",
    "yo": "yor_Latn",
    "zh": "zho_Hans",
    "zu": "zul_Latn",
}

# A fixed list, so that a card's low_resource flag means the same thing whatever the source.
LOW_RESOURCE_LANGUAGES = frozenset(
    {
        "amh_Ethi",
        "ewe_Latn",
        "hau_Latn",
        "ibo_Latn",
        "kin_Latn",
        "lin_Latn",
        "lug_Latn",
        "mlg_Latn",
        "nya_Latn",
        "orm_Latn",
        "sna_Latn",
        "som_Latn",
        "sot_Latn",
        "swa_Latn",
        "swh_Latn",
        "tir_Ethi",
        "tsn_Latn",
        "twi_Latn",
        "wol_Latn",
        "xho_Latn",
        "yor_Latn",
        "zul_Latn",
    }
)


def from_iso639_1(code: str | None) -> str:
    """``'ha'`` -> ``'hau_Latn'``; a code not in the table (or none) -> ``'unknown'``."""
    return ISO_639_1.get((code or "").strip().lower(), UNKNOWN_LANGUAGE)


# --- Metadata of the built-in tasks' languages ------------------------------------------------
#
# Resource level: the class (0-5) of Joshi, Santy, Budhiraja, Bali and Choudhury (2020), "The
# State and Fate of Linguistic Diversity and Inclusion in the NLP World", ACL 2020, pp. 6282-6293
# (their lang2tax.txt). 5 = "the winners" (most labelled and unlabelled data), 0 = "the
# left-behinds". Checked against a secondary copy of that list: English 5, Chinese 5, Japanese 5,
# Turkish 4, Swahili 2. The others are the values we believe the list gives but could not check
# offline (marked "unverified"); correct them here, in this one place, if the list says otherwise.


@dataclass(frozen=True)
class Language:
    """What the reports and ``--tasks`` selectors know of a language besides its code."""

    name: str
    family: str
    script: str
    resource: int  # Joshi et al. (2020) class, 0-5


LANGUAGES: dict[str, Language] = {
    "eng_Latn": Language("English", "Indo-European", "Latin", 5),
    "zho_Hant": Language("Chinese", "Sino-Tibetan", "Han (Traditional)", 5),
    "jpn_Jpan": Language("Japanese", "Japonic", "Japanese (Kanji and Kana)", 5),
    "tur_Latn": Language("Turkish", "Turkic", "Latin", 4),
    "uzb_Cyrl": Language("Uzbek", "Turkic", "Cyrillic", 3),  # unverified
    "zsm_Latn": Language("Malay", "Austronesian", "Latin", 3),  # unverified
    "swh_Latn": Language("Swahili", "Niger-Congo", "Latin", 2),
    "hau_Latn": Language("Hausa", "Afro-Asiatic", "Latin", 2),  # unverified
    "amh_Ethi": Language("Amharic", "Afro-Asiatic", "Ethiopic", 2),  # unverified
    "som_Latn": Language("Somali", "Afro-Asiatic", "Latin", 1),  # unverified
    "nya_Latn": Language("Chichewa", "Niger-Congo", "Latin", 1),  # unverified
    "uig_Arab": Language("Uyghur", "Turkic", "Arabic", 1),  # unverified
    "tat_Cyrl": Language("Tatar", "Turkic", "Cyrillic", 1),  # unverified (3 in some copies?)
    "aze_Latn": Language("Azerbaijani", "Turkic", "Latin", 1),  # unverified
    "tgk_Cyrl": Language("Tajik", "Indo-European", "Cyrillic", 1),  # unverified
    "snd_Arab": Language("Sindhi", "Indo-European", "Arabic", 1),  # unverified
}
AFRICAN_LANGUAGES = frozenset({"swh_Latn", "hau_Latn", "amh_Ethi", "som_Latn", "nya_Latn"})
LOW_RESOURCE_MAX_CLASS = 2
"""A built-in task is low-resource when a language it uses has Joshi class <= this."""


def language_info(code: str) -> Language | None:
    return LANGUAGES.get(code)


def resource_level(*languages: str) -> int | None:
    """The lowest Joshi class among ``languages`` that have metadata (None if none has)."""
    levels = [LANGUAGES[code].resource for code in languages if code in LANGUAGES]
    return min(levels) if levels else None


def is_low_resource(*languages: str) -> bool:
    """True if a language is on the fixed list or has Joshi class <= ``LOW_RESOURCE_MAX_CLASS``."""
    level = resource_level(*languages)
    low_class = level is not None and level <= LOW_RESOURCE_MAX_CLASS
    return low_class or any(language in LOW_RESOURCE_LANGUAGES for language in languages)


RESOURCE_CLASSES = {
    0: "the Left-Behinds",
    1: "the Scraping-Bys",
    2: "the Hopefuls",
    3: "the Rising Stars",
    4: "the Underdogs",
    5: "the Winners",
}
"""The names Joshi et al. (2020) give their resource classes."""
ENGLISH = "eng_Latn"
GROUPINGS = {"family": "language family", "resource": "resource level (Joshi et al. 2020)"}
"""The groupings the report makes of tasks by their non-English language's metadata."""


def task_language(query_lang: str, doc_lang: str) -> str:
    """The language a task is about: its non-English side (the document side if neither is)."""
    return query_lang if doc_lang == ENGLISH and query_lang != ENGLISH else doc_lang


def language_groups(code: str) -> dict[str, tuple[int, str]] | None:
    """``code``'s group in each of ``GROUPINGS``, as (sort key, label); None without metadata.

    Families sort by name (key 0); resource classes from the lowest, labelled with their name.
    """
    language = LANGUAGES.get(code)
    if language is None:
        return None
    level = language.resource
    return {
        "family": (0, language.family),
        "resource": (level, f"class {level}: {RESOURCE_CLASSES[level]}"),
    }
