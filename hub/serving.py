"""Serve an ASGI app with uvicorn: in a background thread (the demo's API and department service,
the tests' servers), or as a process of its own (a server a test kills, or a benchmark measures)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from hub.settings import REPO_ROOT


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may still take it before it is used)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BackgroundServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets if self.server.servers else []
        if not sockets:
            raise RuntimeError("the server is not listening yet")
        port: int = sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the server could not start on {self.host}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {timeout} s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_api_process(
    factory: str,
    port: int,
    log: Path,
    env: Mapping[str, str],
    *,
    prefix: Sequence[str] = (),
    args: Sequence[str] = (),
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start `uvicorn --factory <factory>` on 127.0.0.1:port in a process of its own, its stderr in
    `log`, and return once `/health` answers 200.

    `env` is added to this process's environment; `prefix` goes before the command (`taskset`, say)
    and `args` after it (`--workers 2`, say).
    """
    command = [
        *prefix,
        *(sys.executable, "-m", "uvicorn", "--factory", factory),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"),
        *args,
    ]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=os.environ | {"PYTHONPATH": str(REPO_ROOT)} | dict(env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the API did not answer within {timeout:.0f} s")
