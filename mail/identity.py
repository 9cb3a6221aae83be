"""Who really sent a mail, and whether two deliveries are the same mail.

Pure functions over raw bytes: no database. The rules are explained in
docs/mail-security.md.

Authentication: only the receiving server's own verdict counts, i.e. the
`Authentication-Results` headers (RFC 8601) whose authserv-id is listed in
HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS, and only the topmost run of them: a
sender can write any header it likes below the ones our server prepends.
"""

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser

PASS = "pass"  # noqa: S105 - a verdict, not a password
FAIL = "fail"
NONE = "none"

# method[/version]=result at the start of one resinfo.
_RESULT_RE = re.compile(r"^\s*([a-z][a-z0-9_-]*)(?:/\d+)?\s*=\s*([a-z]+)", re.IGNORECASE)
# ptype.property=value (e.g. header.from=example.com, smtp.mailfrom=a@b).
_PROP_RE = re.compile(r"\b([a-z]+)\.([a-z0-9_-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.IGNORECASE)


@dataclass
class AuthResult:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass
class Verdict:
    """`status` is pass, fail or none; `detail` says why, for people."""

    status: str
    detail: str


def _strip_comments(value: str) -> str:
    """Drop RFC 5322 comments "( ... )", nested ones too, outside quotes."""
    out, depth, quoted = [], 0, False
    for ch in value:
        if ch == '"' and depth == 0:
            quoted = not quoted
        if not quoted and ch == "(":
            depth += 1
            continue
        if not quoted and ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def auth_results_parse(value: str) -> tuple[str, list[AuthResult]]:
    """One header value -> (authserv-id in lower case, results)."""
    parts = [p.strip() for p in _strip_comments(" ".join(value.split())).split(";")]
    authserv_id = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results = []
    for part in parts[1:]:
        match = _RESULT_RE.match(part)
        if not match:
            continue  # "none" (no checks ran) or garbage
        props = {f"{p.lower()}.{q.lower()}": v.strip('"').lower() for p, q, v in _PROP_RE.findall(part[match.end() :])}
        results.append(AuthResult(match.group(1).lower(), match.group(2).lower(), props))
    return authserv_id, results


def header_items(raw: bytes) -> list[tuple[str, str]]:
    """All header fields in order, top first (names lower-cased); never raises."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        return [(k.lower(), " ".join(str(v).split())) for k, v in headers.items()]
    except Exception:
        return []


def trusted_results(raw: bytes, trusted_ids: set[str]) -> list[AuthResult] | None:
    """The results of the topmost run of Authentication-Results headers
    with a trusted authserv-id; None when there is none.

    The run ends at the first header of any other kind or id: whatever lies
    below was written before our server saw the mail (by the sender or an
    earlier hop) and proves nothing.
    """
    ids = {i.strip().lower() for i in trusted_ids if i.strip()}
    if not ids:
        return None
    found: list[AuthResult] | None = None
    for name, value in header_items(raw):
        trusted_ar = False
        if name == "authentication-results":
            authserv_id, results = auth_results_parse(value)
            if authserv_id in ids:
                trusted_ar = True
                found = [*(found or []), *results]
        if found is not None and not trusted_ar:
            break
    return found


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment, conservatively: the same domain, or the From
    domain is a subdomain of the authenticated one (no public-suffix list,
    so a parent is never taken as aligned with a sibling)."""
    domain = domain.strip().lower().rstrip(".")
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    if not domain or "." not in domain:
        return False
    return from_domain == domain or from_domain.endswith("." + domain)


def sender_verdict(results: list[AuthResult] | None, from_email: str) -> Verdict:
    """Does the trusted verdict vouch for the From address?

    pass: dmarc=pass, or (no DMARC verdict) dkim=pass with d= aligned to the
    From domain, or spf=pass with smtp.mailfrom aligned. fail: an explicit
    dmarc fail, or no aligned pass while DKIM or SPF failed. none: nothing
    trusted says either way.
    """
    if results is None:
        return Verdict(NONE, "no Authentication-Results from a trusted server")
    from_domain = from_email.rpartition("@")[2].lower().rstrip(".")
    seen = ", ".join(f"{r.method}={r.result}" for r in results) or "no results"
    # A DMARC verdict about another From domain (the server read a
    # different From header than the parser did) vouches for nothing here.
    dmarc = [r for r in results if r.method == "dmarc" and r.props.get("header.from", from_domain) == from_domain]
    if any(r.result == PASS for r in dmarc):
        return Verdict(PASS, f"dmarc=pass ({seen})")
    if any(r.result in ("fail", "quarantine", "reject") for r in dmarc):
        return Verdict(FAIL, f"DMARC failed for {from_domain} ({seen})")
    aligned = next((r for r in results if _aligned_pass(r, from_domain)), None)
    if aligned is not None:
        return Verdict(PASS, f"{aligned.method}=pass aligned with {from_domain} ({seen})")
    if any(r.method in ("dkim", "spf") and r.result in ("fail", "softfail", "permerror") for r in results):
        return Verdict(FAIL, f"no aligned pass for {from_domain} and a check failed ({seen})")
    return Verdict(NONE, f"no aligned pass for {from_domain} ({seen})")


def _aligned_pass(r: AuthResult, from_domain: str) -> bool:
    """dkim=pass with d= aligned to the From domain, or spf=pass with smtp.mailfrom aligned."""
    if r.result != PASS:
        return False
    if r.method == "dkim":
        return _aligned(r.props.get("header.d", ""), from_domain)
    if r.method == "spf":
        return _aligned(r.props.get("smtp.mailfrom", ""), from_domain)
    return False


# Headers that say what the author sent; the rest (Received, DKIM and
# authentication stamps, Delivered-To, Return-Path...) are added in transit
# and differ between two deliveries of the same mail.
_CONTENT_HEADERS = ("from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references", "content-type")


def content_digest(raw: bytes) -> str:
    """sha256 of what the author wrote: the content headers and the body,
    line endings normalised. Two deliveries of one mail share it even when
    the hops stamped different Received headers; two different mails that
    reuse a Message-ID do not."""
    raw = raw.replace(b"\r\n", b"\n")
    head, sep, body = raw.partition(b"\n\n")
    if not sep:
        head, body = raw, b""
    items = [(n, v) for n, v in header_items(head + b"\n\n") if n in _CONTENT_HEADERS]
    h = hashlib.sha256()
    for name, value in items:
        h.update(f"{name}:{value}\n".encode("utf-8", "surrogateescape"))
    h.update(b"\n")
    h.update(b"\n".join(line.rstrip() for line in body.rstrip().split(b"\n")))
    return h.hexdigest()
