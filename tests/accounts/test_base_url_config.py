"""HELPDESK_BASE_URL: documented in the README and set by `make run`
(scripts/run.sh) from its HOST and PORT unless given."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_base_url(**env: str) -> str:
    # Without the switch the script would install, migrate and serve.
    assert "RUN_PRINT_BASE_URL" in (ROOT / "scripts" / "run.sh").read_text()
    clean = {k: v for k, v in os.environ.items() if k not in {"HELPDESK_BASE_URL", "HOST", "PORT"}}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run.sh")],
        env={**clean, "RUN_PRINT_BASE_URL": "1", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_make_run_derives_the_base_url_from_host_and_port():
    assert _run_base_url() == "http://127.0.0.1:8000"
    assert _run_base_url(PORT="8080") == "http://127.0.0.1:8080"
    assert _run_base_url(HOST="help.local", PORT="9000") == "http://help.local:9000"
    anywhere = "0.0.0.0"  # noqa: S104 - the listen address under test, nothing binds here
    wildcard = _run_base_url(HOST=anywhere, PORT="8080")
    assert wildcard.endswith(":8080") and anywhere not in wildcard


def test_make_run_keeps_a_configured_base_url():
    assert _run_base_url(HELPDESK_BASE_URL="https://help.example.com", PORT="8080") == "https://help.example.com"


def test_readme_documents_the_variable_and_the_port():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `HELPDESK_BASE_URL`")]
    assert rows and "make run" in rows[0] and "e-mail" in rows[0]
    assert any(line.startswith("| `HOST`, `PORT`") for line in readme.splitlines())
