"""Strip quoted history and signatures from an email reply (plain text).

Only replies to an existing ticket are stripped (a new ticket keeps the
whole text, forwarded history included); the raw message is always kept
in InboundMessage, so nothing is lost.
"""

import re

REPLY_MARKER = "##- Please type your reply above this line -##"

# "On Tue, 3 Jun 2025 at 10:00, Ann <ann@x> wrote:" and translations; the
# attribution line may be wrapped over two lines by the client.
ATTRIBUTION = re.compile(
    r"^\s*(On\s.+\swrote|Am\s.+\sschrieb.*|Le\s.+\sa\s[ée]crit|El\s.+\sescribi[óo].*|Op\s.+\sschreef.*"
    r"|Il\s.+\sha\sscritto)"
    r"\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*(Original Message|Urspr[üu]ngliche Nachricht|Forwarded message)\s*-{2,}",
                              re.IGNORECASE)  # fmt: skip
OUTLOOK_FROM = re.compile(r"^\s*\**(From|Von|De|Van)\s*:\**\s+\S", re.IGNORECASE)
OUTLOOK_HEADER = re.compile(
    r"^\s*\**(Sent|Date|Gesendet|Datum|Envoy[ée]|To|An|Subject|Betreff|Objet)\s*:", re.IGNORECASE
)
OUTLOOK_RULE = re.compile(r"^\s*_{20,}\s*$")
MOBILE_SIGNATURE = re.compile(r"^\s*(Sent from my \w+|Get Outlook for \w+|Sent from Mail for Windows)", re.IGNORECASE)


def _cut_index(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if REPLY_MARKER in line:
            return i
        if ORIGINAL_MESSAGE.match(line):
            return i
        if ATTRIBUTION.match(line):
            return i
        if i + 1 < len(lines) and line.strip().startswith("On ") and ATTRIBUTION.match(f"{line} {lines[i + 1]}"):
            return i
        if OUTLOOK_RULE.match(line) and any(OUTLOOK_FROM.match(x) for x in lines[i + 1 : i + 3]):
            return i
        if OUTLOOK_FROM.match(line):
            following = lines[i + 1 : i + 5]
            if sum(1 for x in following if OUTLOOK_HEADER.match(x)) >= 2:
                return i
    return None


def reply_strip(text: str) -> str:
    """The new part of a reply: cut at the first quote header (Gmail/Apple
    "On ... wrote:", Outlook "From: ... Sent:", "-----Original Message-----",
    our reply marker), drop a trailing ">" block, then the "-- " signature.
    Falls back to the full text when nothing would be left.
    """
    original = (text or "").replace("\r\n", "\n").strip()
    lines = original.split("\n")
    cut = _cut_index(lines)
    if cut is not None:
        lines = lines[:cut]
    # A trailing block of quoted lines (bottom-posting clients).
    while lines and (lines[-1].lstrip().startswith(">") or not lines[-1].strip()):
        lines.pop()
    for i, line in enumerate(lines):
        if line in ("-- ", "--") or MOBILE_SIGNATURE.match(line):
            lines = lines[:i]
            break
    result = "\n".join(lines).strip()
    return result or original
