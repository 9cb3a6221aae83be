"""Bytes -> text for mail whose charset is missing, wrong or a lie.

Pure functions, no database. Order of trust (docs/mail-parsing.md):
ISO-2022 escape sequences, the declared charset (through ALIASES), UTF-8,
charsets declared elsewhere in the same message (hints), then a guess:
charset-normalizer's candidates and a fixed list of common mail charsets,
each scored by how plausible its text is. cp1252 with replacement is the
last resort, so decoding never raises.
"""

import codecs
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence

# Labels that mean a superset in practice (as browsers treat them, WHATWG
# Encoding Standard): mail clients label GBK text "gb2312", cp949 text
# "ks_c_5601-1987", cp932 text "shift_jis" and cp1252 text "iso-8859-1".
ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "l1": "cp1252", "cp819": "cp1252", "windows-1252": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254",
    "iso-8859-11": "cp874", "tis-620": "cp874", "windows-874": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "csgb2312": "gb18030",
    "euc-cn": "gb18030", "cp936": "gb18030", "windows-936": "gb18030", "chinese": "gb18030",
    "big5": "big5hkscs", "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs", "big5-hkscs": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ksc5601": "cp949", "ksc_5601": "cp949",
    "euc-kr": "cp949", "windows-949": "cp949", "korean": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932", "sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "csshiftjis": "cp932",
    "iso-8859-8-i": "iso-8859-8", "x-mac-roman": "mac_roman", "ansi_x3.4-1968": "ascii", "utf8": "utf-8",
}  # fmt: skip
LATIN_LABELLED = {"cp1252", "iso8859-15"}
# Labels that say nothing about the bytes: treated as undeclared.
UNDECLARED = {"unknown-8bit", "x-unknown", "unknown", "8bit", "x-user-defined", "default", "none", "charset"}
# ISO-2022 variants tried in order; the later ones are supersets that
# rescue the JIS X 0212 and other extensions real clients send.
ISO2022_JP = ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_3")
# A designation of a double-byte set (JIS X 0208/0212/0213, KS X 1001):
# plain ASCII text with other escapes (terminal logs) is not ISO-2022.
ISO2022_ESCAPE = re.compile(rb"\x1b\$[@B]|\x1b\$\([@BDOPQ]|\x1b\$\)C")
# Tried when guessing, after charset-normalizer's candidates (ties go to
# the earlier one; the detector alone misreads short samples, e.g. a
# Shift_JIS subject as cp949, so every candidate is scored).
COMMON = ("cp1252", "cp932", "euc_jp", "gb18030", "cp949", "big5hkscs", "cp1250", "cp1251", "koi8_r", "cp1253")
_SCORE_SAMPLE = 4096


def _cp1252_or_latin1(exc: UnicodeError) -> tuple[str, int]:
    """cp1252 leaves five bytes undefined; read those as Latin-1."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("helpdesk-latin1", _cp1252_or_latin1)


def charset_normalise(charset: str | None) -> str:
    """The Python codec for a MIME label; "" when undeclared or unknown."""
    name = (charset or "").strip().strip('"').strip("'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix
    if not name or name in UNDECLARED:
        return ""
    name = ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _strict(data: bytes, codec: str) -> str | None:
    try:
        if codec == "cp1252":
            return data.decode("cp1252", "helpdesk-latin1")
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _iso2022(data: bytes) -> str | None:
    """7-bit text with ISO-2022 escape sequences, whatever was declared."""
    if not ISO2022_ESCAPE.search(data) or any(b > 0x7F for b in data):
        return None
    variants = ("iso2022_kr",) if b"\x1b$)C" in data else ISO2022_JP
    for codec in variants:
        text = _strict(data, codec)
        if text is not None:
            return text
    return None


# --- plausibility ------------------------------------------------------------

_WORD = re.compile(r"\w+")
_ALPHABET = {"ascii": "latin"}


def _script(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x80:
        return "ascii"
    if 0xC0 <= cp <= 0x24F:
        return "latin"
    if 0x370 <= cp <= 0x3FF:
        return "greek"
    if 0x400 <= cp <= 0x4FF:
        return "cyrillic"
    if 0x590 <= cp <= 0x6FF:
        return "rtl"
    if 0x3040 <= cp <= 0x30FF:
        return "kana"
    if 0x4E00 <= cp <= 0x9FFF:
        return "han"
    if 0xAC00 <= cp <= 0xD7A3:
        return "hangul"
    return "other"


def _two_byte(ch: str, codec: str) -> bytes:
    try:
        encoded = ch.encode(codec)
    except UnicodeEncodeError:
        return b""
    return encoded if len(encoded) == 2 else b""


def _common_char(ch: str, script: str) -> bool:
    if script == "hangul":  # the 2,350 syllables of KS X 1001; misread bytes land outside
        encoded = _two_byte(ch, "cp949")
        return bool(encoded) and 0xB0 <= encoded[0] <= 0xC8 and encoded[1] >= 0xA1
    if script == "han":  # GB2312 or JIS X 0208: the everyday ideographs
        return bool(_two_byte(ch, "gb2312") or _two_byte(ch, "euc_jp"))
    if 0x3131 <= ord(ch) <= 0x318E or 0xFF61 <= ord(ch) <= 0xFF9F:  # lone jamo, half-width kana
        return False
    return script != "other" or unicodedata.category(ch)[0] in "LNPZ"


def plausibility(text: str) -> float:
    """Share of characters that look like real text (0..1).

    A wrong charset yields box drawing, half-width katakana, rare Hangul or
    words mixing scripts ("Cafй"); a right one yields letters of one script
    per word. Cheap and language-agnostic: good enough to rank candidates.
    """
    text = text[:_SCORE_SAMPLE]
    if not text:
        return 1.0
    bad = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cs") and ch not in "\t\r\n\x1b")
    bad += sum(1 for ch in text if not ch.isalnum() and not _common_char(ch, _script(ch)))
    bad += sum(_word_penalty(word) for word in _WORD.findall(text))
    return max(0.0, 1.0 - bad / len(text))


def _word_penalty(word: str) -> int:
    """How many of a word's non-ASCII characters look wrong."""
    scripts = {_script(ch) for ch in word if ch.isalpha()}
    non_ascii = [ch for ch in word if ord(ch) > 0x7F]
    if not non_ascii:
        return 0
    # Han, kana and Hangul mix with anything; Latin, Greek, Cyrillic
    # and Hebrew/Arabic letters never share a word.
    alphabets = {_ALPHABET.get(s, s) for s in scripts} & {"latin", "greek", "cyrillic", "rtl"}
    mixed = len(alphabets) > 1
    latin_only = scripts == {"latin"} and len(word) >= 3
    # "рТЙЧЕФ": lower then upper case inside a word (KOI8-R read as cp1251).
    camel = any(a.islower() and b.isupper() for a, b in itertools.pairwise(word))
    if mixed or latin_only or camel:
        return len(non_ascii)
    return sum(1 for ch in non_ascii if not _common_char(ch, _script(ch)))


def _detector_candidates(sample: bytes) -> list[str]:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - pinned in requirements.txt
        return []
    try:
        return [match.encoding for match in from_bytes(sample[:65536])][:8]
    except Exception:  # a detector bug must never lose a mail
        return []


def guess_decode(data: bytes, hints: Iterable[str] = ()) -> str:
    """Text of undeclared (or wrongly declared) bytes; never raises.

    `hints` are charsets declared elsewhere in the same message (the body of
    a mail with a raw 8-bit subject is usually in the subject's charset).
    """
    if not data:
        return ""
    iso = _iso2022(data)
    if iso is not None:
        return iso
    for codec in ("utf-8", *dict.fromkeys(h for h in hints if h)):
        text = _strict(data, codec)
        if text is not None:
            return text
    mostly_utf8 = _mostly_utf8(data, ratio=20)
    if mostly_utf8 is not None:
        return mostly_utf8
    # cp1252 first: by far the most common undeclared 8-bit charset, and
    # the detector confuses it with its neighbours on short samples.
    ordered = ["cp1252", *_detector_candidates(data), *COMMON]
    head = data[: _SCORE_SAMPLE * 4]
    best, best_score = "", -1.0
    for codec in dict.fromkeys(ordered):
        text = _strict_prefix(head, codec, whole=len(head) == len(data))
        if text is None:
            continue
        score = plausibility(text)
        if score > best_score:
            best, best_score = codec, score
    if not best:
        return data.decode("cp1252", "helpdesk-latin1")
    text = _strict(data, best)
    return text if text is not None else data.decode(best, errors="replace")


def _mostly_utf8(data: bytes, *, ratio: int) -> str | None:
    """UTF-8 with a few broken bytes (at least `ratio` valid non-ASCII
    characters per broken one), decoded with replacement; else None."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return text if good and bad * ratio <= good else None


def _strict_prefix(data: bytes, codec: str, *, whole: bool) -> str | None:
    """Strict decode of a prefix; a character cut at the end is allowed."""
    try:
        return _strict_or_raise(data, codec)
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(data) - 4:
            return None
        return _strict(data[: exc.start], codec)
    except LookupError:
        return None


def _strict_or_raise(data: bytes, codec: str) -> str:
    return data.decode("cp1252", "helpdesk-latin1") if codec == "cp1252" else data.decode(codec)


def bytes_decode(data: bytes, charset: str | None, hints: Sequence[str] = ()) -> str:
    """Decode with the declared charset (aliases applied); undeclared,
    ASCII-labelled 8-bit or undecodable bytes are guessed. Never raises."""
    iso = _iso2022(data)
    if iso is not None:
        return iso
    declared = charset_normalise(charset)
    if declared.startswith("iso2022_jp"):
        for codec in (declared, *ISO2022_JP):
            text = _strict(data, codec)
            if text is not None:
                return text
    elif declared in LATIN_LABELLED and not data.isascii() and (utf8 := _strict(data, "utf-8")) is not None:
        # Labelled Latin-1/cp1252 but valid UTF-8 with multibyte sequences:
        # a mislabel (Latin text is essentially never valid UTF-8).
        return utf8
    elif declared and declared != "ascii":
        text = _strict(data, declared)
        if text is None and declared == "utf-8":
            text = _mostly_utf8(data, ratio=1)  # declared UTF-8 and mostly is
        if text is not None:
            return text
    elif data.isascii():
        return data.decode("ascii")
    text = guess_decode(data, hints)
    if declared and declared not in ("ascii", "utf-8") and plausibility(text) < 0.5:
        return data.decode(declared, errors="replace")
    return text
