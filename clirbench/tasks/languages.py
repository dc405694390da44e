"""Language codes from other tools, mapped to the card's ISO 639-3 + script form (``hau_Latn``)."""

from __future__ import annotations

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
LOW_RESOURCE_LANGUAGES = frozenset({
    "amh_Ethi", "ewe_Latn", "hau_Latn", "ibo_Latn", "kin_Latn", "lin_Latn", "lug_Latn",
    "mlg_Latn", "nya_Latn", "orm_Latn", "sna_Latn", "som_Latn", "sot_Latn", "swa_Latn",
    "swh_Latn", "tir_Ethi", "tsn_Latn", "twi_Latn", "wol_Latn", "xho_Latn", "yor_Latn",
    "zul_Latn",
})


def from_iso639_1(code: str | None) -> str:
    """``'ha'`` -> ``'hau_Latn'``; a code not in the table (or none) -> ``'unknown'``."""
    return ISO_639_1.get((code or "").strip().lower(), UNKNOWN_LANGUAGE)


def is_low_resource(*languages: str) -> bool:
    return any(language in LOW_RESOURCE_LANGUAGES for language in languages)
