"""A real S3-compatible server for the storage tests: moto in server mode
(pinned in requirements-dev.txt), started as its own process on a free
port, with a fresh bucket per test. docs/storage.md."""

import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import boto3
import pytest
from botocore.client import BaseClient

from helpdesk.lib.storage_url import storage_from_url
from tests.mail.conftest import mail_settings  # noqa: F401 - the mail fixture, for the raw e-mail tests

# moto accepts any key; boto3 needs some to sign requests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto server did not start (pip install -r requirements-dev.txt)")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class Bucket:
    name: str
    client: BaseClient

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture
def s3_bucket(s3_endpoint, settings, monkeypatch, tmp_path) -> Bucket:
    """A new bucket, and STORAGE_URL pointing the default storage at it
    (MEDIA_ROOT moved to an empty folder: nothing may land on disk)."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    name = f"helpdesk-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    settings.MEDIA_ROOT = tmp_path / "media"
    # Through the parser the app uses, so the tests cover STORAGE_URL too.
    url = f"s3://{name}/helpdesk?endpoint_url={s3_endpoint}&region_name=us-east-1"
    settings.STORAGES = {**settings.STORAGES, "default": storage_from_url(url)}
    return Bucket(name=name, client=client)
