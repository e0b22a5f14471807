"""Telegram's side of bench/updates.py, in a process of its own: the Bot API sandbox over HTTP
and the people who write to the bot.

Telegram's servers do not share the bot's CPU; in the bot's process the sandbox (parsing each
request, storing each message, the people's updates) took about 15 % of it and lowered the
bot's figure by as much. Here the bot reaches this process over HTTP with its ordinary
request, and takes the updates with getUpdates, as `oshbot run` does.

    python -m bench.telegram_side --latency 0.1

Prints "READY <port> <token>" once it listens. It then reads one JSON line on stdin,
{"plan": [[second, user_id, text], ...]}, plays it (each text reaches the bot's getUpdates at its
second), and when every update has had its answer prints one JSON line: "latencies" (seconds from
each update offered to its answer accepted), "elapsed" (first offered to last answer). It serves
until stdin closes, so that the bot can stop cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from typing import Any

from bot.sandbox import Sandbox
from bot.sandbox_http import SandboxServer


def with_latency(sandbox: Sandbox, latency: float) -> None:
    """The sandbox's round-trip option; code from before it existed gets the same wait here."""
    if hasattr(sandbox, "latency"):
        sandbox.latency = latency
        return
    call = sandbox.call

    async def slow_call(token: str, method: str, params: Any, files: Any = None) -> Any:
        if method.lower() != "getupdates":
            await asyncio.sleep(latency)
        return await call(token, method, params, files)

    sandbox.call = slow_call  # type: ignore[method-assign]


class People:
    """The sandbox, and when each chat had each of its answers."""

    def __init__(self, latency: float) -> None:
        self.sandbox = Sandbox(limits=None)
        with_latency(self.sandbox, latency)
        self.answered: dict[int, list[float]] = defaultdict(list)
        send = self.sandbox._methods["sendMessage"]

        def recorded(params: Any, files: Any) -> Any:
            result = send(params, files)
            self.answered[int(params["chat_id"])].append(time.perf_counter())
            return result

        self.sandbox._methods["sendMessage"] = recorded

    def write(self, user_id: int, text: str) -> None:
        user = self.sandbox.user(user_id, f"Người lao động {user_id}")
        if text.startswith("/"):
            user.send_command(text)
        else:
            user.send_text(text)

    async def play(self, plan: list[tuple[float, int, str]]) -> dict[str, Any]:
        offered: list[tuple[int, int, float]] = []
        started = time.perf_counter()
        for at, user_id, text in plan:
            delay = started + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            # The answers the person already had: the next one is this update's.
            offered.append((user_id, len(self.answered[user_id]), time.perf_counter()))
            self.write(user_id, text)
        wanted: dict[int, int] = defaultdict(int)
        for user_id, _, _ in offered:
            wanted[user_id] += 1
        while any(len(self.answered[u]) < n for u, n in wanted.items()):
            await asyncio.sleep(0.01)
        latencies = [self.answered[u][index] - at for u, index, at in offered]
        last = max(self.answered[u][index] for u, index, _ in offered)
        return {"latencies": latencies, "elapsed": last - offered[0][2]}


async def serve(latency: float) -> None:
    people = People(latency)
    server = SandboxServer(people.sandbox)
    port = await server.start()
    print(f"READY {port} {people.sandbox.token}", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip():
        plan = [(float(at), int(user), str(text)) for at, user, text in json.loads(line)["plan"]]
        print(json.dumps(await people.play(plan)), flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the bot has stopped
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per Bot API call")
    asyncio.run(serve(parser.parse_args().latency))


if __name__ == "__main__":
    main()
