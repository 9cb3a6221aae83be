"""Raw RFC 822 bytes -> ParsedMail. Pure functions: no database.

Uses the stdlib `email` package (policy.default) for the MIME structure
and RFC 2231 parameters, and its own readers where real mail breaks the
rules: headers (charset aliases, raw 8-bit text, split encoded words),
addresses (an encoded word is never decoded into one), lying or missing
charsets (mail.charsets), uuencoded files, HTML-only bodies.
Decisions: docs/mail-parsing.md.
"""

import base64
import binascii
import bisect
import contextlib
import html
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from mail.charsets import bytes_decode, charset_normalise

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
    # Set when the mail must be kept for an admin rather than applied (an
    # encoded word where the From address should be).
    invalid_reason: str = ""


# --- headers ----------------------------------------------------------------

ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _raw_header(msg: Message, name: str) -> str | None:
    """The header as received (8-bit bytes kept as surrogates), unfolded."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return _FOLD.sub("", str(value))
    return None


def _raw_headers(msg: Message, name: str) -> list[str]:
    return [_FOLD.sub("", str(v)) for k, v in msg.raw_items() if k.lower() == name.lower()]


def _as_bytes(text: str) -> bytes:
    """Undo the parser's ASCII+surrogateescape decoding of raw bytes."""
    return text.encode("utf-8", "surrogateescape")


def _encoded_word_bytes(encoding: str, payload: str) -> bytes:
    data = _as_bytes(payload)
    if encoding.lower() == "q":
        return binascii.a2b_qp(data, header=True)
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data + b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data)
    except binascii.Error:
        return b""


def header_decode(raw: str, hints: tuple[str, ...] = ()) -> str:
    """RFC 2047 decoding that survives real mail: charset aliases
    (gb2312 -> gb18030 ...), multibyte characters split over two encoded
    words, raw 8-bit text (guessed) and ISO-2022 escapes without any
    encoded word. Whitespace is collapsed."""
    out: list[str] = []
    run: list[tuple[str, bytes]] = []  # adjacent encoded words

    def flush() -> None:
        while run:
            charset = run[0][0]
            data = b""
            while run and run[0][0] == charset:
                data += run.pop(0)[1]
            out.append(bytes_decode(data, charset or "unknown-8bit", hints))

    pos = 0
    for match in ENCODED_WORD.finditer(raw):
        between = raw[pos : match.start()]
        if not (run and not between.strip()):  # only whitespace between encoded words is dropped
            flush()
            out.append(_plain_decode(between, hints))
        charset = match.group(1).split("*", 1)[0].lower()
        run.append((charset, _encoded_word_bytes(match.group(2), match.group(3))))
        pos = match.end()
    flush()
    out.append(_plain_decode(raw[pos:], hints))
    return " ".join("".join(out).split())


def _plain_decode(text: str, hints: tuple[str, ...]) -> str:
    if text.isascii() and "\x1b" not in text:
        return text
    return bytes_decode(_as_bytes(text), None, hints)


def header_str(msg: Message, name: str, hints: tuple[str, ...] | None = None) -> str:
    """A header as text (never raises); "" when missing."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    return header_decode(raw, _charset_hints(msg) if hints is None else hints)


def _charset_hints(msg: Message) -> tuple[str, ...]:
    """Charsets declared anywhere in the message: a raw 8-bit header is
    almost always in the charset its client declared for the body."""
    labels: list[str] = []
    with contextlib.suppress(Exception):  # a defective part: hints are only hints
        for part in msg.walk():
            charset = part.get_param("charset")
            if isinstance(charset, str):
                labels.append(charset)
            labels += [m.group(1) for _k, v in part.raw_items() for m in ENCODED_WORD.finditer(str(v))]
    codecs = (charset_normalise(label) for label in labels)
    return tuple(dict.fromkeys(c for c in codecs if c and c not in ("ascii", "utf-8")))


# --- addresses ----------------------------------------------------------------

ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\\\"]+@[^\s@<>()\[\],;:\\\"]+$")


def _mailboxes(raw: str) -> list[tuple[str, str]]:
    """(raw display name, raw address) pairs; nothing is decoded here.

    Encoded words are never decoded into an address (RFC 2047 section 5:
    they may stand only in a display name), so an address made of one stays
    literal and is refused by address_problem()."""
    pairs = []
    for name, addr in getaddresses([raw]):
        if re.search(r"\s", addr.strip()):
            # "Test test@example.com": no angle brackets; the last word with
            # an @ is the address, the words before it the name.
            words = addr.split()
            at = [i for i, w in enumerate(words) if "@" in w]
            if at:
                i = at[-1]
                name = name or " ".join(words[:i] + words[i + 1 :])
                addr = words[i]
        pairs.append((name, addr.strip()))
    return pairs


def address_problem(addr: str) -> str:
    """Why `addr` is not a usable address ("" when it is)."""
    if "=?" in addr and "?=" in addr:
        return "it is an RFC 2047 encoded word (never decoded into an address)"
    if not ADDR_SPEC.match(addr):
        return "it is not an address"
    if not addr.isascii():
        try:
            _as_bytes(addr).decode("utf-8")
        except UnicodeDecodeError:
            return "it has 8-bit bytes that are not UTF-8"
    return ""


def _address_text(addr: str) -> str:
    return _as_bytes(addr).decode("utf-8", "replace").strip().lower()


def addresses(msg: Message, *names: str) -> list[str]:
    """Valid addresses of these headers, lowercased, in order, once each;
    invalid ones (encoded words included) are left out."""
    found: list[str] = []
    for name in names:
        for raw in _raw_headers(msg, name):
            for _, addr in _mailboxes(raw):
                if address_problem(addr):
                    continue
                addr = _address_text(addr)
                if addr not in found:
                    found.append(addr)
    return found


def sender_parse(msg: Message, hints: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """(name, address, problem) of the sender: From, else Sender, else
    Return-Path. A From whose address is an encoded word is a problem (the
    mail is quarantined), never a fallback to another header."""
    for header in ("From", "Sender", "Return-Path"):
        for raw in _raw_headers(msg, header):
            for raw_name, addr in _mailboxes(raw):
                if not addr:
                    continue
                problem = address_problem(addr)
                if problem and header == "From" and ENCODED_WORD.search(addr):
                    literal = _as_bytes(addr).decode("utf-8", "replace")
                    return "", "", f"invalid From address {literal!r}: {problem}"
                if problem:
                    continue
                return header_decode(raw_name, hints).strip('"').strip(), _address_text(addr), ""
    return "", "", ""


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


META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)


def _part_text(part: Message, hints: tuple[str, ...] = ()) -> str:
    data = _part_bytes(part)
    charset = part.get_content_charset()
    if not charset and part.get_content_type() == "text/html":
        meta = META_CHARSET.search(data[:4096])  # <meta charset> when the header has none
        charset = meta.group(1).decode("ascii") if meta else None
    return bytes_decode(data, charset, hints)


# --- uuencoded files inside text ----------------------------------------------

UU_BEGIN = re.compile(r"^begin(-base64)?[ \t]+([0-7]{3,4})[ \t]+(\S.*)$")
UU_LINE = re.compile(r"^[\x20-\x60]+$")


def _uu_decode(lines: list[str]) -> bytes | None:
    """Classic uuencode lines -> bytes; None when they are not uuencode."""
    out = bytearray()
    for line in lines:
        line = line.rstrip("\r")
        if not line:
            continue
        if not UU_LINE.match(line):
            return None
        length = (ord(line[0]) - 32) & 63
        if length == 0:
            continue
        try:
            chunk = binascii.a2b_uu(line)
        except binascii.Error:
            # Encoders that pad with spaces or add a checksum character:
            # decode just the characters this line's length needs.
            try:
                chunk = binascii.a2b_uu(line[: (length * 4 + 5) // 3 + 1])
            except binascii.Error:
                return None
        out += chunk[:length]
    return bytes(out)


def uuencoded_extract(text: str) -> tuple[str, list["MailFile"]]:
    """Files uuencoded inside a text body ("begin 644 name" ... "end", or
    "begin-base64" ... "===="), and the text without them. A block that
    does not decode stays in the text, so nothing is lost."""
    if "begin" not in text:
        return text, []
    lines = text.split("\n")
    ends = {t: [j for j, line in enumerate(lines) if line.strip() == t] for t in ("end", "====")}
    kept: list[str] = []
    files: list[MailFile] = []
    i = 0
    while i < len(lines):
        match = UU_BEGIN.match(lines[i].rstrip("\r"))
        if match:
            following = ends["====" if match.group(1) else "end"]
            at = bisect.bisect_right(following, i)
            end = following[at] if at < len(following) else None
            if end is not None and end > i + 1:
                body = lines[i + 1 : end]
                data = _b64_lines(body) if match.group(1) else _uu_decode(body)
                if data is not None:
                    name = match.group(3).strip().strip('"').replace("\\", "/").rsplit("/", 1)[-1][:255] or "file"
                    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
                    files.append(MailFile(name, data, ctype))
                    i = end + 1
                    continue
        kept.append(lines[i])
        i += 1
    return "\n".join(kept), files


def _b64_lines(lines: list[str]) -> bytes | None:
    try:
        return base64.b64decode("".join(line.strip() for line in lines), validate=True)
    except (binascii.Error, ValueError):
        return None


def _raw_filename(part: Message) -> str:
    """A filename sent as raw 8-bit text or as encoded words (both against
    the RFCs, both common), decoded like a header."""
    for header, param in (("Content-Disposition", "filename"), ("Content-Type", "name")):
        raw = _raw_header(part, header) or ""
        match = re.search(rf'(?:^|;)\s*{param}\s*=\s*(?:"([^"]*)"|([^;\s]+))', raw, re.IGNORECASE)
        if match:
            return header_decode(match.group(1) or match.group(2) or "", _charset_hints(part))
    return ""


def _filename(part: Message, index: int, content_type: str) -> str:
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name:
        try:
            param = part.get_param("name") or ""
            # A tuple is an RFC 2231 triple in compat mode.
            name = bytes_decode(param[2].encode("latin-1"), param[0]) if isinstance(param, tuple) else param
        except Exception:
            name = ""
    name = str(name)
    if "\ufffd" in name or "=?" in name or any("\udc80" <= ch <= "\udcff" for ch in name):
        name = _raw_filename(part) or name
    name = " ".join(name.split()).replace("/", "_").replace("\\", "_").strip()
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{ext}"
    return name[:255]


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


@dataclass
class _Walk:
    parsed: ParsedMail
    hints: tuple[str, ...]
    texts: list[str] = field(default_factory=list)


BODY_TYPES = ("text/plain", "text/html")


def _walk(part: Message, state: _Walk, related: bool = False, files_only: bool = False) -> None:
    """Collect body texts and files. Every part is either body text or a
    file; only signatures are skipped. `files_only` walks a rendering that
    was not chosen as the body (the other side of a multipart/alternative):
    its text is the same body again, but its images, calendars and
    attachments are kept."""
    ctype = part.get_content_type().lower()
    if part.is_multipart() and ctype != "message/rfc822":
        _walk_multipart(part, ctype, state, related, files_only)
        return
    if ctype in SKIPPED_TYPES:
        return
    if ctype.startswith("multipart/"):  # no usable boundary: the parser kept it as text
        if not files_only:
            state.texts.append(_part_text(part, state.hints))
        return
    if ctype == "message/rfc822":
        _walk_forwarded(part, state, files_only)
        return
    if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        state.parsed.is_encrypted = True
    disposition = _disposition(part)
    has_name = bool(part.get_param("name") or part.get_param("filename", header="content-disposition"))
    if ctype in BODY_TYPES and disposition != "attachment" and not has_name:
        if not files_only:  # else the same body in another rendering
            _walk_body(part, ctype, state)
        return
    content_id = part.get("Content-ID")
    inline = disposition == "inline" or (related and bool(content_id)) or (bool(content_id) and not disposition)
    index = len(state.parsed.files) + 1
    mail_file = MailFile(_filename(part, index, ctype), _part_bytes(part), ctype, is_inline=inline)
    _file_add(state, mail_file, files_only)


def _walk_multipart(part: Message, ctype: str, state: _Walk, related: bool, files_only: bool) -> None:
    children = [c for c in part.get_payload() if isinstance(c, Message)]
    related = related or ctype == "multipart/related"
    if ctype == "multipart/alternative":
        chosen = next(
            (
                c
                for c in children
                if c.get_content_type() == "text/plain"
                and _disposition(c) != "attachment"
                and _part_text(c, state.hints).strip()
            ),
            children[-1] if children else None,  # else the richest rendering (last)
        )
        # The chosen rendering first, so the others only add what it lacks.
        for child in sorted(children, key=lambda c: c is not chosen):
            _walk(child, state, related, files_only=files_only or child is not chosen)
        return
    if ctype == "multipart/signed":
        # The first child is the content, the rest the signature.
        for position, child in enumerate(children):
            _walk(child, state, related, files_only=files_only or position > 0)
        return
    for child in children:
        _walk(child, state, related, files_only)


def _walk_forwarded(part: Message, state: _Walk, files_only: bool) -> None:
    """A forwarded message is kept whole, as an .eml file named after its subject."""
    index = len(state.parsed.files) + 1
    try:
        inner = part.get_payload(0) if part.is_multipart() else part.get_payload()
        content = inner.as_bytes() if isinstance(inner, Message) else _part_bytes(part)
        subject = header_str(inner, "Subject") if isinstance(inner, Message) else ""
    except Exception:
        content, subject = _part_bytes(part), ""
    name = (re.sub(r"[^\w\- .]+", "_", subject).strip() or f"forwarded-{index}")[:200] + ".eml"
    _file_add(state, MailFile(name, content, "message/rfc822"), files_only)


def _walk_body(part: Message, ctype: str, state: _Walk) -> None:
    text = _part_text(part, state.hints)
    if ctype == "text/html":
        state.texts.append(html_to_text(text))
        return
    text, uufiles = uuencoded_extract(text)
    state.texts.append(text)
    for uufile in uufiles:
        _file_add(state, uufile, False)


def _file_add(state: _Walk, mail_file: MailFile, files_only: bool) -> None:
    # Two renderings may carry the same image; keep one copy.
    if files_only and any(
        f.content == mail_file.content and f.content_type == mail_file.content_type for f in state.parsed.files
    ):
        return
    state.parsed.files.append(mail_file)


HEADERS_KEPT = (
    "Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From", "X-Mail-Autoreply",
    "X-Auto-Response-Suppress", "Precedence", "X-Precedence", "List-Id", "List-Unsubscribe", "Return-Path",
    "X-Failed-Recipients", "X-Loop", "X-Helpdesk-Loop", "X-MS-Exchange-Inbox-Rules-Loop",
    "X-MS-Exchange-Generated-Message-Source",
)  # fmt: skip


def mail_parse(raw: bytes) -> ParsedMail:
    """Parse one message. Raises ValueError when it is not a mail at all."""
    if not raw or not raw.strip():
        raise ValueError("empty message")
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    # A message with no header block at all is not mail (the parser would
    # take the first line as a broken header and the rest as body).
    if not any(k.lower() in ("from", "sender", "return-path", "message-id", "received") for k in msg):
        raise ValueError("no From, Message-ID or Received header: not an RFC 822 message")
    hints = _charset_hints(msg)
    from_name, from_email, invalid = sender_parse(msg, hints)
    headers = {name.lower(): header_str(msg, name, hints) for name in HEADERS_KEPT if name in msg}
    ids = message_ids(header_str(msg, "Message-ID", ()))
    parsed = ParsedMail(
        message_id=ids[0][:998] if ids else "",
        subject=header_str(msg, "Subject", hints)[:500],
        from_name=from_name[:200],
        from_email=from_email[:320],
        to=addresses(msg, "To"),
        cc=addresses(msg, "Cc"),
        reply_to=addresses(msg, "Reply-To"),
        delivered_to=addresses(msg, "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"),
        in_reply_to=message_ids(header_str(msg, "In-Reply-To", ())),
        references=message_ids(header_str(msg, "References", ())),
        text="",
        headers=headers,
        content_type=msg.get_content_type().lower(),
        invalid_reason=invalid,
    )
    state = _Walk(parsed, hints)
    _walk(msg, state)
    parsed.text = "\n\n".join(t.strip("\n") for t in state.texts if t.strip()).replace("\r\n", "\n").strip()
    return parsed


# --- classification -------------------------------------------------------

AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailer_daemon)@", re.IGNORECASE)
AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autoreply-from", "x-mail-autoreply")
# Subjects auto-responders put first (Outlook/Exchange in its UI
# languages, Gmail, Apple). Never enough alone: a person can type them.
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[ -]?response|out of (the )?office( autoreply| reply)?|autoreply"
    r"|automatische antwort|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[áa]tica"
    r"|risposta automatica|fuori sede|automatisch antwoord|autosvar|automatisk svar|fr[åa]nvaro"
    r"|resposta autom[áa]tica|odpowied[źz] automatyczna|自動応答|自動返信|自动回复|自動回覆|자동 회신)\s*[:：]",
    re.IGNORECASE,
)
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|rv|vs|doorst|enc|i)\s*[:：]", re.IGNORECASE)


def _exchange_auto_reply(parsed: ParsedMail) -> str:
    """Exchange/Outlook automatic replies that carry no Auto-Submitted.

    X-Auto-Response-Suppress asks *recipients* not to auto-answer; Outlook
    and newsletters put it on ordinary mail too, so alone it proves nothing
    (docs/mail-parsing.md). Exchange stamps "All" on what its own mailbox
    rules send (out-of-office included) together with
    X-MS-Exchange-Inbox-Rules-Loop naming the mailbox whose rule fired; on a
    redirected customer mail that header names the redirecting mailbox,
    not the sender, so that case still gets in.
    """
    h = parsed.headers
    suppress = {t.strip().lower() for t in re.split(r"[,\s]+", h.get("x-auto-response-suppress", "")) if t.strip()}
    suppress.discard("none")
    rules_loop = {a.lower() for _, a in getaddresses([h.get("x-ms-exchange-inbox-rules-loop", "")]) if a}
    source = h.get("x-ms-exchange-generated-message-source", "").strip().lower()
    if FORWARD_SUBJECT.match(parsed.subject):
        return ""  # a forward carries a person's words, whatever sent it
    own_rule = bool(parsed.from_email) and parsed.from_email in rules_loop
    if "all" in suppress and own_rule:
        return "auto-reply (Exchange: X-Auto-Response-Suppress: All from the sender's own mailbox rule)"
    if AUTO_REPLY_SUBJECT.match(parsed.subject) and (suppress or rules_loop or source):
        return "auto-reply (auto-reply subject with Exchange auto-reply headers)"
    return ""


def drop_reason(parsed: ParsedMail) -> str:
    """Why this mail must never create a ticket or a reply; "" if it may.

    Bounces, DSNs, read receipts, auto-replies, loops and list mail are
    dropped (kept with this reason, never applied) so two robots can never
    mail each other forever. The rules and their sources are in
    docs/mail-parsing.md. The first rule that matches, in this order, names the reason.
    """
    for rule in DROP_RULES:
        reason = rule(parsed)
        if reason:
            return reason
    if not parsed.from_email:
        return "no sender address"
    return ""


def _drop_bounce(parsed: ParsedMail) -> str:
    h = parsed.headers
    return_path = h.get("return-path", "").strip()
    if parsed.content_type == "multipart/report":
        return "bounce or receipt (multipart/report)"
    if BOUNCE_SENDERS.match(parsed.from_email or "") or "x-failed-recipients" in h:
        return "bounce (from mailer-daemon)"
    if return_path == "<>":
        return "bounce or auto-reply (null Return-Path)"
    if BOUNCE_SENDERS.match(return_path.strip("<>") + "@") or BOUNCE_SENDERS.match(return_path.strip("<>")):
        return "bounce (Return-Path is mailer-daemon)"
    return ""


def _drop_auto_reply(parsed: ParsedMail) -> str:
    h = parsed.headers
    auto = h.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"auto-reply (Auto-Submitted: {auto})"
    if any(name in h for name in AUTOREPLY_HEADERS[:2]):
        return "auto-reply (X-Autoreply/X-Autorespond)"
    for name in AUTOREPLY_HEADERS[2:]:
        if name in h:
            return f"auto-reply ({name})"
    return ""


def _drop_loop_or_bulk(parsed: ParsedMail) -> str:
    h = parsed.headers
    if "x-helpdesk-loop" in h:
        return "loop (our own notification came back)"
    if "x-loop" in h:
        return f"loop (X-Loop: {h['x-loop'][:100]})"
    for name in ("precedence", "x-precedence"):
        precedence = h.get(name, "").strip().lower()
        if precedence in AUTO_PRECEDENCE:
            return f"bulk or list mail (Precedence: {precedence})"
    return ""


def _drop_exchange(parsed: ParsedMail) -> str:
    source = parsed.headers.get("x-ms-exchange-generated-message-source", "").strip()
    if source and source.lower() != "mailbox rules agent":
        return f"automatic (generated by Exchange: {source[:100]})"
    return _exchange_auto_reply(parsed) or ""


def _drop_list(parsed: ParsedMail) -> str:
    return "mailing-list mail (List-Id)" if "list-id" in parsed.headers else ""


DROP_RULES: tuple[Callable[[ParsedMail], str], ...] = (
    _drop_bounce,
    _drop_auto_reply,
    _drop_loop_or_bulk,
    _drop_exchange,
    _drop_list,
)
