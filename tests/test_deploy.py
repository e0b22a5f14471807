"""The deployment files: what this machine can check without a container engine, and a webhook
posted through HTTPS to Caddy configured by deploy/Caddyfile with `tls internal`."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from bench.cluster import free_port, wait_healthy
from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer
from bot.web import TELEGRAM_SECRET_HEADER

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def need(tool: str) -> str:
    found = shutil.which(tool) or (str(BIN / tool) if (BIN / tool).exists() else None)
    if found is None:
        if os.environ.get("CI") and tool == "caddy":
            pytest.fail("caddy is missing: .ci/run installs it")
        pytest.skip(f"{tool} is not installed")
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([need("hadolint"), str(ROOT / "Dockerfile")], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_what_the_dockerfile_copies_exists() -> None:
    text = (ROOT / "Dockerfile").read_text()
    sources = [
        part
        for line in text.splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for part in line.split()[1:-1]
    ]
    assert sources
    assert [s for s in sources if not (ROOT / s).exists()] == []
    # The image runs the console script the package declares.
    assert '"oshbot", "serve"' in text
    assert 'oshbot = "bot.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    tool = need("systemd-analyze")
    oshbot = BIN / "oshbot"
    for unit in ("oshbot@.service", "oshbot-backup.service", "oshbot-backup.timer"):
        text = (DEPLOY / unit).read_text().replace("/srv/oshbot/.venv/bin/oshbot", str(oshbot))
        (tmp_path / unit).write_text(text)
    done = subprocess.run(
        [tool, "verify", "./oshbot@8080.service", "./oshbot-backup.service",
         "./oshbot-backup.timer"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    ours = [line for line in done.stderr.splitlines() if "oshbot" in line]
    assert done.returncode == 0 and ours == [], done.stderr


def caddy_environment(folder: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"), **extra,
    }  # fmt: skip


@pytest.mark.parametrize("tls", ["internal", "ops@example.org"])
def test_the_caddyfile_is_valid(tls: str, tmp_path: Path) -> None:
    caddy = need("caddy")
    env = caddy_environment(tmp_path, OSHBOT_DOMAIN="bot.example.org", CADDY_TLS=tls)
    done = subprocess.run(
        [caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


async def test_a_webhook_posted_through_https_reaches_the_bot(tmp_path: Path) -> None:
    caddy = need("caddy")
    sandbox = Sandbox()
    server = SandboxServer(sandbox)
    await server.start()
    worker_port, https_port = free_port(), free_port()
    secret = "tls-test-secret"
    folder = Path(tempfile.mkdtemp(prefix="oshbot-tls-"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSHBOT_")}
    env.update({
        "OSHBOT_TOKEN": sandbox.token, "OSHBOT_API_BASE_URL": server.base_url,
        "OSHBOT_DATABASE_URL": f"sqlite:///{folder}/oshbot.db",
        "OSHBOT_WEBHOOK_URL": f"https://localhost:{https_port}/telegram",
        "OSHBOT_WEBHOOK_SECRET": secret, "OSHBOT_DATA_DIR": str(folder / "data"),
        "OSHBOT_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--host",
         "127.0.0.1", "--port", str(worker_port)],
        env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=(folder / "worker.log").open("w"),
    )  # fmt: skip
    proxy = subprocess.Popen(
        [caddy, "run", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        env=caddy_environment(
            folder, OSHBOT_DOMAIN=f"localhost:{https_port}", CADDY_TLS="internal",
            OSHBOT_UPSTREAMS=f"127.0.0.1:{worker_port}",
            CADDY_ADMIN=f"127.0.0.1:{free_port()}", CADDY_HTTP_PORT=str(free_port()),
            CADDY_HTTPS_PORT=str(https_port),
        ),
        stdout=subprocess.DEVNULL, stderr=(folder / "caddy.log").open("w"),
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as plain:
            await wait_healthy(plain, f"http://127.0.0.1:{worker_port}/healthz", worker)
        root = folder / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        for _ in range(300):
            if root.exists():
                break
            await asyncio.sleep(0.1)
        # Verified against Caddy's own root: the certificate is real TLS, not switched off.
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=root)) as client:
            base = f"https://localhost:{https_port}"
            await wait_healthy(client, f"{base}/healthz", proxy)
            assert (await client.get(f"{base}/metrics")).status_code == 404
            # The dashboard is served by the same worker, behind the same TLS: signed out here.
            page = await client.get(f"{base}/dashboard/")
            assert page.status_code == 401 and '<html lang="vi"' in page.text
            person = sandbox.user(4242, "Lan")
            update = person.send_command("/help")
            sandbox.take_updates()
            refused = await client.post(f"{base}/telegram", json=update)
            assert refused.status_code == 403
            answer = await client.post(
                f"{base}/telegram", json=update, headers={TELEGRAM_SECRET_HEADER: secret}
            )
            assert answer.status_code == 200
            assert answer.http_version in ("HTTP/1.1", "HTTP/2")
        assert re.search("link mời", person.messages()[-1].plain)
        assert sandbox.webhook_url == f"https://localhost:{https_port}/telegram"
    finally:
        for process in (worker, proxy):
            process.terminate()
        for process in (worker, proxy):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        await server.stop()
        shutil.rmtree(folder, ignore_errors=True)
