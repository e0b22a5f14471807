"""Two `oshbot serve` workers on one PostgreSQL behind Caddy, a broadcast, people talking, and
the sending worker killed with SIGKILL half way.

    .venv/bin/python -m bench.cluster [--recipients 2000] [--postgres-url URL] [--no-kill]
                                      [--jitter S]
    .venv/bin/python -m bench.cluster --workers 1      (the baseline: one worker, no kill)

The same stack is the multi-worker test (tests/test_cluster.py); this prints its figures:

- the broadcast's rate summed over the workers (accepted sends / time from first to last);
- 429 answers from the sandbox (Telegram's limits: 30/s overall, 1/s a chat);
- all sends together (broadcast and replies) over the broadcast's span, and the highest number
  in any one-second window (as the sandbox stamps them: a busy machine clumps them);
- the p95 of the time from posting a person's update to Caddy to the bot's reply arriving;
- the takeover: from the kill to the other worker holding the sender lock, and the longest
  silence of the broadcast around the kill.

Everything is real and local: the HTTP Bot API sandbox (bot/sandbox_http.py) with its limits on,
Caddy from Debian's package, two processes of `oshbot serve`, a PostgreSQL database made for the
run and dropped after it. People's updates are posted to Caddy as Telegram would post them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from bot.ratelimit import JITTER
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox_http import SandboxServer
from bot.web import TELEGRAM_SECRET_HEADER
from models import broadcasts
from models.audience import Audience
from models.db import Database
from models.outbox import Message
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import Contact, Role, utcnow

FIRST_RECIPIENT = 100_000
TALKERS = (11, 12, 13)  # people who are not in the programme: one-step commands only
TALK_EVERY = 4.0  # each person: a command every 4 s (3 people: 0.75 a second in all)
REPLY_WAIT = 30  # seconds before a reply counts as never given
COMMANDS = ("/help", "/start")
SECRET = "cluster-test-secret"
# OSHBOT_SEND_RATE's default. Replies of the worker that does not send are invisible to the
# sender's limiter: the bulk pace (30 in any 1.03 s, 29.1 a second) leaves 0.9 a second for them
# (README, "Deploying"); here they are about 0.4 a second.
SEND_RATE = 30.0
BULK_RATE = SEND_RATE / (1 + JITTER)
LIMIT = RateLimits().global_per_second
DEFAULT_POSTGRES = os.environ.get(
    "OSHBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def caddyfile(listen: int, upstreams: list[int]) -> str:
    servers = " ".join(f"127.0.0.1:{port}" for port in upstreams)
    return f"""{{
	admin off
	auto_https off
}}

http://127.0.0.1:{listen} {{
	reverse_proxy {servers} {{
		lb_policy round_robin
		# A worker that refuses connections (killed) is skipped: the update goes to another,
		# which needs the body kept (updates are small).
		lb_try_duration 5s
		buffer_requests
		fail_duration 10s
	}}
}}
"""


@dataclass
class Result:
    recipients: int
    received: dict[int, int]  # recipient -> messages received
    sends: list[tuple[float, int]]  # (sandbox clock, chat) of every accepted send
    rate_limited: int
    replies: list[float]
    unanswered: int
    killed_at: float | None
    takeover: float | None  # seconds from the kill to the other worker holding the lock
    logs: dict[str, str] = field(default_factory=dict)
    bulk_rate: float = BULK_RATE

    @property
    def missed(self) -> list[int]:
        return [chat for chat, count in self.received.items() if count == 0]

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.received.values() if count > 1)

    def broadcast_times(self) -> list[float]:
        return sorted(t for t, chat in self.sends if chat >= FIRST_RECIPIENT)

    def rate(self) -> float:
        times = self.broadcast_times()
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")

    def combined_rate(self) -> float:
        """Every send (broadcast and replies) over the broadcast's span."""
        times = self.broadcast_times()
        if len(times) < 2:
            return float("nan")
        within = [t for t, _ in self.sends if times[0] <= t <= times[-1]]
        return (len(within) - 1) / (times[-1] - times[0])

    def busiest_second(self) -> int:
        """The most sends (every chat) in any window of one second."""
        times = sorted(t for t, _ in self.sends)
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    def longest_silence(self) -> float:
        times = self.broadcast_times()
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def p95(self) -> float:
        if len(self.replies) < 2:
            return self.replies[0] if self.replies else float("nan")
        return statistics.quantiles(self.replies, n=20)[-1]

    def lines(self) -> list[str]:
        return [
            f"recipients {self.recipients}: missed {len(self.missed)}, "
            f"received twice {self.duplicates}",
            f"broadcast rate over the workers: {self.rate():.2f} msg/s "
            f"(bulk pace {self.bulk_rate:.2f}/s, limit {LIMIT:g}/s); 429s: {self.rate_limited}",
            f"all sends together (broadcast and replies): {self.combined_rate():.2f} msg/s; "
            f"busiest one-second window: {self.busiest_second()} messages",
            f"replies through Caddy: n={len(self.replies)} p95 {self.p95():.3f} s "
            f"median {statistics.median(self.replies) if self.replies else float('nan'):.3f} s; "
            f"unanswered {self.unanswered}",
            "sending worker killed with SIGKILL: "
            + (
                f"other worker held the sender lock {self.takeover:.2f} s later; "
                f"longest silence of the broadcast {self.longest_silence():.2f} s"
                if self.killed_at is not None and self.takeover is not None
                else "no kill"
            ),
        ]


@asynccontextmanager
async def postgres_database(server_url: str) -> AsyncIterator[str]:
    name = f"oshbot_cluster_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def seed(database: Database, recipients: int) -> None:
    today = utcnow().date()
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Đà Nẵng")
        draft = EnterpriseDraft("Khu công nghiệp Hòa Khánh", "wood", "da-nang", 50_000, today)
        enterprise = add_enterprise(session, provider_id=provider.id, draft=draft, today=today)
        rows = [
            {"telegram_user_id": uid, "chat_id": uid, "role": str(Role.WORKER),
             "enterprise_id": enterprise.id, "language": "vi", "registered_at": utcnow()}
            for uid in range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)
        ]  # fmt: skip
        session.execute(sa.insert(Contact), rows)


def queue_broadcast(database: Database) -> None:
    with database.session() as session:
        draft = broadcasts.create(session, author=None, text="Mời Anh/Chị dự hội thảo.")
        assert draft.id is not None
        broadcasts.set_audience(
            session, broadcast_id=draft.id, author=None, audience=Audience(roles=(Role.WORKER,))
        )
        broadcasts.confirm(
            session, broadcast_id=draft.id, author=None,
            render=lambda language: Message("Mời Anh/Chị dự hội thảo thành tựu ngày 20/3."),
        )  # fmt: skip


def worker_environment(
    url: str, api: str, token: str, data: Path, public: str, jitter: float = JITTER
) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OSHBOT_")}
    environment.update({
        "OSHBOT_TOKEN": token, "OSHBOT_API_BASE_URL": api, "OSHBOT_DATABASE_URL": url,
        "OSHBOT_WEBHOOK_URL": public, "OSHBOT_WEBHOOK_SECRET": SECRET,
        "OSHBOT_DATA_DIR": str(data), "OSHBOT_BOT_USERNAME": "oshbot_sandbox_bot",
        "OSHBOT_SEND_INTERVAL": "1", "OSHBOT_SEND_RATE": str(SEND_RATE),
        "OSHBOT_SEND_JITTER": str(jitter),
        # Whatever the hour the test runs: no quiet hours.
        "OSHBOT_QUIET_START": "00:00", "OSHBOT_QUIET_END": "00:00",
        "OSHBOT_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    return environment


async def wait_healthy(client: httpx.AsyncClient, url: str, process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Waits (90 s at most) until `url` answers 200, or the process serving it exits."""
    for _ in range(900):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}, not served")
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never answered")


async def run(
    recipients: int = 2000,
    *,
    postgres_url: str = DEFAULT_POSTGRES,
    kill: bool = True,
    deadline: float = 150.0,
    workers_count: int = 2,
    jitter: float = JITTER,
) -> Result:
    caddy = shutil.which("caddy")
    if caddy is None:
        raise FileNotFoundError("caddy is not installed (Debian: apt-get install caddy)")
    async with postgres_database(postgres_url) as url:
        database = Database(url)
        seed(database, recipients)
        sandbox = Sandbox(limits=RateLimits())  # the real clock: Telegram's limits in real time
        for uid in range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients):
            sandbox.user(uid, f"Người lao động {uid}")
        people = {uid: sandbox.user(uid, f"Khách {uid}") for uid in TALKERS}
        server = SandboxServer(sandbox)
        await server.start()
        folder = Path(tempfile.mkdtemp(prefix="oshbot-cluster-"))
        listen, ports = free_port(), [free_port() for _ in range(workers_count)]
        public = f"http://127.0.0.1:{listen}/telegram"
        (folder / "Caddyfile").write_text(caddyfile(listen, ports))
        environment = worker_environment(url, server.base_url, sandbox.token, folder / "data",
                                         public, jitter)  # fmt: skip
        workers: dict[int, subprocess.Popen] = {}  # type: ignore[type-arg]
        logs = {port: folder / f"worker-{port}.log" for port in ports}
        proxy = None
        try:
            for port in ports:
                workers[port] = subprocess.Popen(
                    [sys.executable, "-c", "from bot.cli import main; main()", "serve",
                     "--host", "127.0.0.1", "--port", str(port)],
                    env=environment, stdout=subprocess.DEVNULL,
                    stderr=logs[port].open("w"), cwd=folder,
                )  # fmt: skip
            caddy_env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "xdg"),
                         "XDG_CONFIG_HOME": str(folder / "xdg")}  # fmt: skip
            proxy = subprocess.Popen(
                [caddy, "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
                env=caddy_env, stdout=subprocess.DEVNULL,
                stderr=(folder / "caddy.log").open("w"),
            )  # fmt: skip
            async with httpx.AsyncClient(timeout=10) as client:
                for port in ports:
                    await wait_healthy(client, f"http://127.0.0.1:{port}/healthz", workers[port])
                await wait_healthy(client, f"http://127.0.0.1:{listen}/healthz", proxy)
                queue_broadcast(database)
                result = await _play(
                    client, sandbox, people, workers, ports, public, recipients, kill, deadline
                )
            result.bulk_rate = SEND_RATE / (1 + jitter)
            result.logs = {
                **{f"worker {port}": logs[port].read_text()[-3000:] for port in ports},
                "caddy": (folder / "caddy.log").read_text()[-2000:],
            }
            return result
        finally:
            for process in [*workers.values(), proxy]:
                if process is not None and process.poll() is None:
                    process.terminate()
            for process in [*workers.values(), proxy]:
                if process is not None:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            await server.stop()
            database.dispose()
            shutil.rmtree(folder, ignore_errors=True)


async def _play(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    people: dict[int, object],
    workers: dict[int, subprocess.Popen],  # type: ignore[type-arg]
    ports: list[int],
    public: str,
    recipients: int,
    kill: bool,
    deadline: float,
) -> Result:
    done = asyncio.Event()
    replies: list[float] = []
    unanswered = 0
    killed_at: float | None = None
    takeover: float | None = None
    chats = range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)

    reached: set[int] = set()
    seen = 0

    def delivered() -> int:
        """Recipients with a message so far (reading only the sends since the last look)."""
        nonlocal seen
        sends = sandbox.stats.sends
        for _, chat, _ in sends[seen:]:
            if chat >= FIRST_RECIPIENT:
                reached.add(chat)
        seen = len(sends)
        return len(reached)

    async def talk(uid: int, offset: float) -> None:
        nonlocal unanswered
        person = sandbox.users[uid]
        await asyncio.sleep(offset)
        turn = 0
        while not done.is_set():
            before = len(person.messages())
            update = person.send_command(COMMANDS[turn % len(COMMANDS)])
            turn += 1
            sandbox.take_updates()  # posted below, as Telegram posts to a webhook
            asked = time.perf_counter()
            answered = False
            if await deliver(update):
                for _ in range(REPLY_WAIT * 100):
                    if len(person.messages()) > before:
                        replies.append(time.perf_counter() - asked)
                        answered = True
                        break
                    await asyncio.sleep(0.01)
            if not answered:
                unanswered += 1
            await asyncio.sleep(max(0.0, TALK_EVERY - (time.perf_counter() - asked)))

    async def deliver(update: dict[str, object]) -> bool:
        """Posts an update to Caddy as Telegram does: again, a little later, when it was not
        taken (a worker killed while it read the post answers nothing)."""
        for _ in range(5):
            try:
                answer = await client.post(
                    public, json=update, headers={TELEGRAM_SECRET_HEADER: SECRET}
                )
                if answer.status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
        return False

    async def sender_port() -> int | None:
        for port in ports:
            if workers[port].poll() is not None:
                continue
            try:
                health = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
            except (httpx.TransportError, ValueError):
                continue
            if health.get("sender"):
                return port
        return None

    async def killer() -> None:
        nonlocal killed_at, takeover
        while delivered() < recipients // 2:
            await asyncio.sleep(0.05)
        victim = await sender_port()
        assert victim is not None, "no worker says it sends"
        os.kill(workers[victim].pid, signal.SIGKILL)
        killed_at = sandbox.clock()
        workers[victim].wait()
        while True:
            survivor = await sender_port()
            if survivor is not None and survivor != victim:
                takeover = sandbox.clock() - killed_at
                return
            await asyncio.sleep(0.05)

    async def watch() -> None:
        started = time.perf_counter()
        while delivered() < recipients and time.perf_counter() - started < deadline:
            await asyncio.sleep(0.2)
        # The last messages in flight, and the replies still owed: then stop talking.
        await asyncio.sleep(1.0)
        done.set()

    tasks = [watch(), *(talk(uid, i * TALK_EVERY / len(people)) for i, uid in enumerate(people))]
    if kill:
        tasks.append(killer())
    await asyncio.gather(*tasks)
    return Result(
        recipients=recipients,
        received={chat: len(sandbox.users[chat].messages()) for chat in chats},
        sends=[(t, chat) for t, chat, _ in sandbox.stats.sends],
        rate_limited=sandbox.stats.rate_limited,
        replies=replies,
        unanswered=unanswered,
        killed_at=killed_at,
        takeover=takeover,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-kill", action="store_true", help="leave both workers running")
    parser.add_argument(
        "--workers", type=int, default=2, help="1: the baseline, one worker behind Caddy, no kill"
    )
    parser.add_argument(
        "--jitter", type=float, default=JITTER, help="OSHBOT_SEND_JITTER of the workers, seconds"
    )
    args = parser.parse_args()
    print(f"{args.workers} worker(s) behind Caddy, broadcast to {args.recipients} recipients, "
          f"sandbox limits {LIMIT:g}/s overall, 1/s a chat")  # fmt: skip
    result = await run(
        args.recipients, postgres_url=args.postgres_url,
        kill=not args.no_kill and args.workers > 1, workers_count=args.workers,
        jitter=args.jitter,
    )  # fmt: skip
    for line in result.lines():
        print(line, flush=True)
    if os.environ.get("CLUSTER_DEBUG"):
        for name, text in result.logs.items():
            print(f"--- {name}\n{text}")


if __name__ == "__main__":
    asyncio.run(main())
