"""A real HTTP receiver on loopback that checks signatures like a
customer's endpoint would (recomputes the HMAC, rejects stale timestamps)."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from webhooks.services import CACHE_KEY


class Receiver:
    def __init__(self) -> None:
        self.secret = ""
        self.codes: list[int] = []  # answers to give in order; then 200
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                verified = receiver.verify(self.headers.get("X-Helpdesk-Signature", ""), body)
                with receiver.lock:
                    code = receiver.codes.pop(0) if receiver.codes else 200
                    if not verified:
                        code = 401
                    receiver.requests.append(
                        {
                            "headers": dict(self.headers),
                            "body": body,
                            "json": json.loads(body),
                            "verified": verified,
                            "answered": code,
                        }
                    )
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"boom " * 1000)

            def log_message(self, *args):
                pass

        return Handler

    def verify(self, header: str, body: bytes, tolerance: int = 300) -> bool:
        """Independent of webhooks.signing: what a receiver writes itself."""
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            ts = int(parts["t"])
        except (KeyError, ValueError):
            return False
        if abs(time.time() - ts) > tolerance:
            return False
        expected = hmac.new(self.secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    @property
    def delivered(self) -> list[dict]:
        return [r for r in self.requests if 200 <= r["answered"] < 300]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(autouse=True)
def _clean_subscription_cache():
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)
