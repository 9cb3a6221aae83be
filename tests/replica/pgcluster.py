"""Two throwaway PostgreSQL clusters from the installed binaries: a primary and
a streaming hot standby of it (`pg_basebackup -R`), on free ports, in a
temporary directory. The shared server on 5432 is never touched.

Also used by bench/replica_bench.py."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL server binaries (initdb) not found: apt-get install postgresql")
    return Path(initdb).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres() -> list[str]:
    """The server refuses to run as root: run its tools as `postgres` then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
full_page_writes = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
max_connections = 60
"""


@dataclass
class Pair:
    root: Path
    primary_port: int = field(default_factory=free_port)
    standby_port: int = field(default_factory=free_port)
    started: list[Path] = field(default_factory=list)

    @property
    def primary_dir(self) -> Path:
        return self.root / "primary"

    @property
    def standby_dir(self) -> Path:
        return self.root / "standby"

    def run(self, tool: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        cmd = [*_as_postgres(), str(pg_bin() / tool), *args]
        # From the clusters' own directory: the checkout may be one the
        # postgres user cannot enter (a CI machine's /root).
        kwargs.setdefault("cwd", self.root)
        return subprocess.run(cmd, check=True, capture_output=True, timeout=300, **kwargs)

    def pg_ctl(self, data: Path, *args: str) -> None:
        self.run("pg_ctl", "-D", str(data), "-l", str(data.parent / f"{data.name}.log"), "-w", "-t", "120", *args)

    def start(self) -> Pair:
        self.run("initdb", "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        conf = PRIMARY_CONF.format(port=self.primary_port, sockets=self.root)
        with open(self.primary_dir / "postgresql.conf", "a") as f:
            f.write(conf)
        self.pg_ctl(self.primary_dir, "start")
        self.started.append(self.primary_dir)
        return self

    def start_standby(self) -> None:
        """Copy the primary now (-R: standby.signal and primary_conninfo), then stream."""
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                 "-D", str(self.standby_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip
        with open(self.standby_dir / "postgresql.auto.conf", "a") as f:
            f.write(f"port = {self.standby_port}\n")
        self.pg_ctl(self.standby_dir, "start")
        self.started.append(self.standby_dir)

    def stop(self) -> None:
        for data in reversed(self.started):
            try:
                self.pg_ctl(data, "stop", "-m", "fast")
            except subprocess.SubprocessError:
                self.run("pg_ctl", "-D", str(data), "stop", "-m", "immediate")
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, port: int, sql: str, dbname: str = "postgres") -> str:
        out = self.run("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", dbname,
                       "-v", "ON_ERROR_STOP=1", "-Atc", sql)  # fmt: skip
        return out.stdout.decode().strip()


def new_pair() -> Pair:
    root = Path(tempfile.mkdtemp(prefix="helpdesk-pg-"))
    os.chmod(root, 0o755)  # noqa: S103 - the server user (postgres) must enter it
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    return Pair(root=root)


def copy_database(*, name: str, src_port: int, dst_port: int, pair: Pair) -> None:
    """The test database of the shared server, schema and rows, into the primary."""
    pair.psql(dst_port, f'CREATE DATABASE "{name}"')
    dump = subprocess.run(
        [str(pg_bin() / "pg_dump"), "-h", "127.0.0.1", "-p", str(src_port), "-U", "postgres", "--no-owner", name],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    subprocess.run(
        [str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(dst_port), "-U", "postgres", "-d", name, "-q",
         "-v", "ON_ERROR_STOP=1"],
        input=dump.stdout, check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
