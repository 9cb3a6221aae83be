"""A real OpenID Connect provider for the tests (oidc-provider-mock: Flask +
Authlib, its own port, its own RSA key), a small forwarding proxy to put a
foreign issuer or a foreign key in front of the app, and the browser's
side of the authorization-code flow done with requests."""

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import oidc_provider_mock
import requests

# path -> (upstream base URL, Host header to send)
Route = Callable[[str], tuple[str, str]]


@contextmanager
def provider() -> Iterator[str]:
    """A provider on its own port; yields its issuer URL."""
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def user_set(issuer: str, sub: str, **claims: object) -> None:
    """The claims the provider puts in the ID token for `sub`."""
    response = requests.put(f"{issuer}/users/{sub}", json=claims, timeout=10)
    assert response.status_code == 204, response.text


class _Forward(BaseHTTPRequestHandler):
    server: "_ProxyServer"

    def _forward(self) -> None:
        upstream, host = self.server.route(self.path)
        target = urlsplit(upstream)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        skip = {"host", "content-length", "connection"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        headers["Host"] = host
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        conn.request(self.command, self.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = _forward

    def log_message(self, *args: object) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    route: Route


@contextmanager
def proxy(route_for: Callable[[str], Route]) -> Iterator[str]:
    """A proxy on its own port; `route_for(own_url)` decides where each
    path goes. Yields the proxy's URL (the issuer the app is told)."""
    server = _ProxyServer(("localhost", 0), _Forward)
    url = f"http://localhost:{server.server_address[1]}"
    server.route = route_for(url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def sign_in(app_url: str, sub: str, session: requests.Session | None = None) -> requests.Response:
    """The browser's part: start at the app's button, authorize `sub` on the
    provider's form, follow the redirects back into the app."""
    session = session or requests.Session()
    form = session.get(f"{app_url}/accounts/oidc/login/", timeout=20)
    assert form.status_code == 200 and 'name="sub"' in form.text, form.text[:500]
    return session.post(form.url, data={"sub": sub}, timeout=20)


def page_heading(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return match.group(1).strip() if match else ""
