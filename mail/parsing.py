"""Raw RFC 822 bytes -> ParsedMail. Pure functions: no database.

Uses the stdlib `email` package with policy.default (RFC 2047 headers and
RFC 2231 parameters decoded), with fallbacks for what real mail does
wrong: unknown or lying charsets, broken encoded words, HTML-only bodies.
"""

import codecs
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

# Charsets seen in the wild that Python does not know by that name.
CHARSET_ALIASES = {
    "unknown-8bit": "cp1252",
    "x-unknown": "cp1252",
    "unknown": "cp1252",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "x-mac-roman": "mac_roman",
    "windows-1252": "cp1252",
    "ansi_x3.4-1968": "ascii",
    "utf8": "utf-8",
}

MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
SKIPPED_TYPES = {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}


@dataclass
class MailFile:
    filename: str
    content: bytes
    content_type: str
    is_inline: bool = False


@dataclass
class ParsedMail:
    message_id: str
    subject: str
    from_name: str
    from_email: str
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    delivered_to: list[str]
    in_reply_to: list[str]
    references: list[str]
    text: str
    files: list[MailFile] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    is_encrypted: bool = False


def charset_normalise(charset: str | None) -> str:
    name = (charset or "us-ascii").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def bytes_decode(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, else UTF-8, else cp1252 (never raises)."""
    declared = charset_normalise(charset)
    for candidate in (declared, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    if declared and declared not in ("ascii", "utf-8"):
        return data.decode(declared, errors="replace")
    return data.decode("cp1252", errors="replace")


def header_str(msg: Message, name: str) -> str:
    """A header as text; broken encoded words fall back to a lenient decode."""
    try:
        value = msg.get(name)
    except Exception:  # a defective header the policy cannot even build
        value = None
        for key, raw in msg.raw_items() if hasattr(msg, "raw_items") else []:
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return ""
    try:
        text = str(value)
    except Exception:
        text = _lenient_header_decode(getattr(value, "_raw", None) or repr(value))
    return " ".join(text.split())


def _lenient_header_decode(raw: str) -> str:
    from email.header import decode_header

    out = []
    try:
        for part, charset in decode_header(raw):
            out.append(bytes_decode(part, charset) if isinstance(part, bytes) else part)
    except Exception:
        return raw
    return "".join(out)


def addresses(msg: Message, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        values = []
        try:
            values = [str(v) for v in msg.get_all(name) or []]
        except Exception:
            values = [header_str(msg, name)]
        for _, addr in getaddresses(values):
            addr = addr.strip().lower()
            if "@" in addr and addr not in found:
                found.append(addr)
    return found


def message_ids(value: str) -> list[str]:
    return MESSAGE_ID_RE.findall(value or "")


def message_id_peek(raw: bytes) -> str:
    """The Message-ID from the headers only; "" when missing or unreadable.

    Runs before the raw row is stored, so it must never raise.
    """
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        ids = message_ids(str(headers.get("Message-ID", "") or ""))
        return ids[0][:998] if ids else ""
    except Exception:
        match = re.search(rb"^message-id:\s*(<[^<>\s]+>)", raw[:65536], re.IGNORECASE | re.MULTILINE)
        return match.group(1).decode("ascii", "replace")[:998] if match else ""


class _TextExtractor(HTMLParser):
    """HTML -> readable plain text: block elements become line breaks,
    lists get bullets, links keep their URL, images their alt text;
    script/style/head are dropped. The result is plain text (escaped when
    shown), so no markup survives."""

    BLOCK = {
        "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "h1", "h2", "h3",
        "h4", "h5", "h6", "pre", "blockquote", "hr", "address", "center",
    }  # fmt: skip
    DROP = {"script", "style", "head", "title", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.drop_depth = 0
        self.href: list[str | None] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.DROP:
            self.drop_depth += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in self.BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre += 1
            if tag == "hr":
                self.out.append("----\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "a":
            self.href.append(a.get("href"))
        elif tag == "img":
            alt = (a.get("alt") or "").strip()
            self.out.append(f"[image: {alt}]" if alt else "[image]")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.DROP:
            self.drop_depth = max(0, self.drop_depth - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href and href.startswith(("http://", "https://", "mailto:")):
                self.out.append(f" ({href.removeprefix('mailto:')})")

    def handle_data(self, data: str) -> None:
        if self.drop_depth:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # never fail on broken markup: strip tags crudely
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [line.strip() for line in text.replace("\xa0", " ").splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _part_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _part_text(part: Message) -> str:
    return bytes_decode(_part_bytes(part), part.get_content_charset())


def _filename(part: Message, index: int, content_type: str) -> str:
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        try:
            name = part.get_param("name") or ""
            if isinstance(name, tuple):  # RFC 2231 triple in compat mode
                name = bytes_decode(name[2].encode("latin-1"), name[0])
        except Exception:
            name = ""
    name = " ".join(str(name).split()).replace("/", "_").replace("\\", "_").strip()
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{ext}"
    return name[:255]


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _walk(part: Message, parsed: ParsedMail, texts: list[str], related: bool = False) -> None:
    ctype = part.get_content_type().lower()
    disposition = _disposition(part)
    if part.is_multipart() and ctype != "message/rfc822":
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if ctype == "multipart/alternative":
            plain = [c for c in children if c.get_content_type() == "text/plain" and _disposition(c) != "attachment"]
            chosen = None
            for c in plain:
                if _part_text(c).strip():
                    chosen = c
                    break
            if chosen is None and children:
                # No usable text/plain: take the richest alternative (last).
                chosen = children[-1]
            if chosen is not None:
                _walk(chosen, parsed, texts, related)
            # Inline images sometimes sit next to the alternatives.
            for c in children:
                if c is not chosen and c.get_content_maintype() not in ("text", "multipart"):
                    _walk(c, parsed, texts, related)
            return
        if ctype == "multipart/signed":
            # The first child is the content, the rest the signature.
            if children:
                _walk(children[0], parsed, texts, related)
            return
        for child in children:
            _walk(child, parsed, texts, related or ctype == "multipart/related")
        return
    if ctype in SKIPPED_TYPES:
        return
    index = len(parsed.files) + 1
    if ctype == "message/rfc822":
        try:
            inner = part.get_payload(0) if part.is_multipart() else part.get_payload()
            content = inner.as_bytes() if isinstance(inner, Message) else _part_bytes(part)
            subject = header_str(inner, "Subject") if isinstance(inner, Message) else ""
        except Exception:
            content, subject = _part_bytes(part), ""
        name = (re.sub(r"[^\w\- .]+", "_", subject).strip() or f"forwarded-{index}")[:200] + ".eml"
        parsed.files.append(MailFile(name, content, "message/rfc822"))
        return
    if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        parsed.is_encrypted = True
    has_name = bool(part.get_param("name") or part.get_param("filename", header="content-disposition"))
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not has_name:
        text = _part_text(part)
        texts.append(html_to_text(text) if ctype == "text/html" else text)
        return
    content_id = part.get("Content-ID")
    inline = disposition == "inline" or (related and bool(content_id)) or (bool(content_id) and not disposition)
    parsed.files.append(MailFile(_filename(part, index, ctype), _part_bytes(part), ctype, is_inline=inline))


def mail_parse(raw: bytes) -> ParsedMail:
    """Parse one message. Raises ValueError when it is not a mail at all."""
    if not raw or not raw.strip():
        raise ValueError("empty message")
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    # A message with no header block at all is not mail (the parser would
    # take the first line as a broken header and the rest as body).
    if not any(k.lower() in ("from", "sender", "return-path", "message-id", "received") for k in msg):
        raise ValueError("no From, Message-ID or Received header: not an RFC 822 message")
    from_name, from_email = parseaddr(header_str(msg, "From"))
    if not from_email:
        from_name, from_email = parseaddr(header_str(msg, "Sender") or header_str(msg, "Return-Path"))
    headers = {}
    for name in (
        "Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "Precedence", "List-Id",
        "List-Unsubscribe", "Return-Path", "X-Failed-Recipients", "X-Loop", "X-Helpdesk-Loop",
    ):  # fmt: skip
        if name in msg:
            headers[name.lower()] = header_str(msg, name)
    ids = message_ids(header_str(msg, "Message-ID"))
    parsed = ParsedMail(
        message_id=ids[0][:998] if ids else "",
        subject=header_str(msg, "Subject")[:500],
        from_name=from_name.strip()[:200],
        from_email=from_email.strip().lower()[:320],
        to=addresses(msg, "To"),
        cc=addresses(msg, "Cc"),
        reply_to=addresses(msg, "Reply-To"),
        delivered_to=addresses(msg, "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"),
        in_reply_to=message_ids(header_str(msg, "In-Reply-To")),
        references=message_ids(header_str(msg, "References")),
        text="",
        headers=headers,
        content_type=msg.get_content_type().lower(),
    )
    texts: list[str] = []
    _walk(msg, parsed, texts)
    parsed.text = "\n\n".join(t.strip("\n") for t in texts if t.strip()).replace("\r\n", "\n").strip()
    return parsed


# --- classification -------------------------------------------------------

AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailer_daemon)@", re.IGNORECASE)


def drop_reason(parsed: ParsedMail) -> str:
    """Why this mail must never create a ticket or a reply; "" if it may.

    Bounces, DSNs, read receipts, auto-replies and list mail are dropped so
    two robots can never mail each other forever.
    """
    h = parsed.headers
    if parsed.content_type == "multipart/report":
        return "bounce or receipt (multipart/report)"
    if BOUNCE_SENDERS.match(parsed.from_email or "") or "x-failed-recipients" in h:
        return "bounce (from mailer-daemon)"
    if h.get("return-path", "").strip() == "<>":
        return "bounce or auto-reply (null Return-Path)"
    auto = h.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto-reply (Auto-Submitted: {auto})"
    if "x-autoreply" in h or "x-autorespond" in h:
        return "auto-reply (X-Autoreply/X-Autorespond)"
    if "x-helpdesk-loop" in h:
        return "loop (our own notification came back)"
    precedence = h.get("precedence", "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"bulk or list mail (Precedence: {precedence})"
    if "list-id" in h:
        return "mailing-list mail (List-Id)"
    if not parsed.from_email:
        return "no sender address"
    return ""
