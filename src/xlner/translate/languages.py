"""Language codes: one canonical ISO 639-3 code per language, and the codes NLLB-200, M2M-100 and
Marian use for it."""

from __future__ import annotations

from xlner.errors import XlnerError

# ISO 639-1 / 639-3 / common variants -> one canonical ISO 639-3 code.
ISO3 = {
    "en": "eng", "eng": "eng", "eu": "eus", "eus": "eus", "baq": "eus",
    "es": "spa", "spa": "spa", "ca": "cat", "cat": "cat", "gl": "glg", "glg": "glg",
    "is": "isl", "isl": "isl", "ice": "isl", "mk": "mkd", "mkd": "mkd", "mac": "mkd",
    "hbs": "hbs", "sh": "hbs", "sr": "srp", "srp": "srp", "hr": "hrv", "hrv": "hrv",
    "bs": "bos", "bos": "bos", "eo": "epo", "epo": "epo",
    "sw": "swa", "swa": "swa", "swh": "swa", "de": "deu", "deu": "deu", "fr": "fra", "fra": "fra",
    "pt": "por", "por": "por", "it": "ita", "ita": "ita", "nl": "nld", "nld": "nld",
    "ru": "rus", "rus": "rus", "ja": "jpn", "jpn": "jpn", "th": "tha", "tha": "tha",
    "fa": "fas", "fas": "fas", "pes": "fas", "bn": "ben", "ben": "ben", "tl": "tgl", "tgl": "tgl",
    "zh": "zho", "zho": "zho", "ar": "ara", "ara": "ara", "hi": "hin", "hin": "hin",
    "tr": "tur", "tur": "tur", "fi": "fin", "fin": "fin", "et": "est", "est": "est",
    "yo": "yor", "yor": "yor", "ha": "hau", "hau": "hau", "ig": "ibo", "ibo": "ibo",
    "rw": "kin", "kin": "kin", "lg": "lug", "lug": "lug", "ny": "nya", "nya": "nya",
    "sn": "sna", "sna": "sna", "wo": "wol", "wol": "wol", "tn": "tsn", "tsn": "tsn",
    "tw": "twi", "twi": "twi", "xh": "xho", "xho": "xho", "zu": "zul", "zul": "zul",
    "bm": "bam", "bam": "bam", "ee": "ewe", "ewe": "ewe", "fon": "fon", "luo": "luo",
    "mos": "mos", "bbj": "bbj", "pcm": "pcm",
}
# Serbian, Croatian and Bosnian are one Apertium system (hbs) with orthographic variants.
HBS_VARIANT = {"srp": "SR", "hrv": "HR", "bos": "BS", "hbs": ""}

# NLLB-200 codes where they are not simply ``<iso3>_Latn`` (method.md §2).
NLLB = {
    "swa": "swh_Latn", "mkd": "mkd_Cyrl", "srp": "srp_Cyrl", "rus": "rus_Cyrl", "jpn": "jpn_Jpan",
    "tha": "tha_Thai", "fas": "pes_Arab", "ben": "ben_Beng", "zho": "zho_Hans", "ara": "arb_Arab",
    "hin": "hin_Deva", "est": "est_Latn", "hbs": "hrv_Latn",
}
NLLB_UNSUPPORTED = {"bbj", "pcm"}  # not in NLLB-200 (method.md §2)
# ISO 639-1 codes used by M2M-100 (``__en__``) and Marian multi-target prefixes (``>>spa<<``).
ISO1 = {v: k for k, v in ISO3.items() if len(k) == 2 and k not in ("sh",)}



def normalise_lang(code: str) -> str:
    """Canonical ISO 639-3 code for ``code`` (``eu`` -> ``eus``); XlnerError E401 if unknown."""
    key = str(code).strip().lower().replace("_", "-").split("-")[0]
    if key not in ISO3:
        raise XlnerError("E401", code=code)
    return ISO3[key]


def nllb_code(code: str) -> str:
    """NLLB-200 language code (``eu`` -> ``eus_Latn``, ``swa`` -> ``swh_Latn``)."""
    if "_" in code and len(code.split("_")[1]) == 4:
        return code  # already an NLLB code such as ``eng_Latn``
    iso3 = normalise_lang(code)
    if iso3 in NLLB_UNSUPPORTED:
        raise XlnerError("E415", code=code, model="NLLB-200")
    return NLLB.get(iso3, f"{iso3}_Latn")

