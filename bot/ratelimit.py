"""One rate limiter for everything the bot sends, replacing PTB's AIORateLimiter.

Why not AIORateLimiter: it limits the whole bot (30/s) and group chats (20/min), but it has no
per-chat pacing for private chats, where all of oshbot's conversations happen; it knows no
priorities, so a tip run of thousands of messages and a person waiting for the answer to a
button queue alike; and on a 429 it sleeps for `retry_after` *inside* the call and retries, which
would hold the outbox sender (and its claimed row) for the whole pause. The sender must instead
give the row back with a later `not_before` and move on, so a crash during a long pause loses
nothing.

What this limiter does, in one shared state for every request that reaches a chat
(sendMessage, sendPhoto, sendDocument, edits, ...):

* **Overall**: a token bucket of `per_second` (30) tokens a second and a small capacity. Bulk
  requests (the outbox sender passes ``rate_limit_args=BULK``) additionally keep a fixed spacing
  of 1/`per_second` between them and leave `reserve` tokens untouched, so they never burst and
  a reply to a person always finds a token at once: replies jump the queue.
* **Per chat**: a bucket of 1 token a second (20 a minute for groups) holding `chat_burst` (3);
  a reply may use the burst Telegram tolerates (a button press answered with an edit and two
  messages), bulk sends to one chat keep at least a second apart.
* **429**: the `retry_after` Telegram gives pauses *every* limited request until it has passed:
  nothing is sent during the pause. A reply waits the pause out and tries again (up to
  `max_retries`); a bulk request raises `RetryAfter` at once (also when the pause is already
  running, without sending), and the sender defers its row.

`clock` and `sleep` are injectable so that tests run the limiter on the sandbox's fake clock
(a `sleep` that advances it) instead of waiting.
"""

from __future__ import annotations

import asyncio
import math
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

# rate_limit_args of the outbox sender's requests.
BULK: dict[str, Any] = {"bulk": True}

# Requests that put something in a chat; Telegram's flood limits count these.
LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
UNLIMITED = frozenset({"sendChatAction"})

GROUP_PER_SECOND = 20 / 60
CATCH_UP = 2  # bulk slots a late sender may make up at once
# Chat buckets idle for this long are full again: forgetting them keeps memory flat.
FORGET_AFTER = 10.0


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 deprecates the int form of retry_after
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float
    last_send: float = -math.inf

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for(self, tokens: float) -> float:
        return 0.0 if self.tokens >= tokens else (tokens - self.tokens) / self.rate


class PacedRateLimiter(BaseRateLimiter[dict[str, Any]]):
    def __init__(
        self,
        *,
        per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        chat_burst: int = 3,
        reserve: int = 3,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.chat_burst = chat_burst
        self.reserve = reserve
        self.max_retries = max_retries
        self.clock = clock
        self.sleep = sleep
        self._global: _Bucket | None = None
        self._chats: dict[int | str, _Bucket] = {}
        self._paused_until = -math.inf
        self._bulk_slot = -math.inf
        self._since_forget = 0
        # (start, end) of every pause, on `clock`: tests check that nothing was sent inside.
        self.pauses: list[tuple[float, float]] = []

    async def initialize(self) -> None:
        """Nothing to set up: the state is in memory."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    # -- what the sender may ask

    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when none)."""
        return max(0.0, self._paused_until - self.clock())

    def chat_wait(self, chat_id: int | str) -> float:
        """Seconds until a bulk message to this chat could go (ignoring the overall pace)."""
        now = self.clock()
        bucket = self._chats.get(chat_id)
        if bucket is None:
            return 0.0
        bucket.refill(now)
        return max(bucket.wait_for(1), bucket.last_send + 1 / bucket.rate - now, 0.0)

    # -- BaseRateLimiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in UNLIMITED or not endpoint.startswith(LIMITED_PREFIXES):
            return await callback(*args, **kwargs)
        bulk = bool(rate_limit_args and rate_limit_args.get("bulk"))
        chat_id = data.get("chat_id")
        retries = 0
        while True:
            await self._acquire(chat_id, bulk=bulk)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                self._pause(retry_seconds(error))
                if bulk or retries >= self.max_retries:
                    raise
                retries += 1

    # -- pacing

    def _pause(self, seconds: float) -> None:
        now = self.clock()
        until = now + seconds
        if until > self._paused_until:
            self._paused_until = until
            self.pauses.append((now, until))
            del self.pauses[:-100]

    def _global_bucket(self, now: float) -> _Bucket:
        if self._global is None:
            capacity = self.reserve + 2
            self._global = _Bucket(self.per_second, capacity, capacity, now)
        self._global.refill(now)
        return self._global

    def _chat_bucket(self, chat_id: int | str | None, now: float) -> _Bucket | None:
        if chat_id is None:
            return None
        bucket = self._chats.get(chat_id)
        if bucket is None:
            is_group = isinstance(chat_id, str) or chat_id < 0
            rate = GROUP_PER_SECOND if is_group else self.per_chat_per_second
            bucket = _Bucket(rate, self.chat_burst, self.chat_burst, now)
            self._chats[chat_id] = bucket
        bucket.refill(now)
        return bucket

    def _wait(self, now: float, chat: _Bucket | None, glob: _Bucket, bulk: bool) -> float:
        if bulk:
            waits = [
                glob.wait_for(1 + self.reserve),
                self._bulk_slot - now,
            ]
            if chat is not None:
                waits += [chat.wait_for(1), chat.last_send + 1 / chat.rate - now]
        else:
            waits = [glob.wait_for(1)]
            if chat is not None:
                waits.append(chat.wait_for(1))
        return max(0.0, *waits)

    async def _acquire(self, chat_id: int | str | None, *, bulk: bool) -> None:
        while True:
            now = self.clock()
            if now < self._paused_until:
                if bulk:
                    # The sender defers the row; no request goes out during a pause.
                    wait = max(1, math.ceil(self._paused_until - now))
                    raise RetryAfter(timedelta(seconds=wait))
                await self.sleep(self._paused_until - now)
                continue
            glob = self._global_bucket(now)
            chat = self._chat_bucket(chat_id, now)
            wait = self._wait(now, chat, glob, bulk)
            if wait <= 0:
                # No await between the check and the take: coroutines cannot both take it.
                glob.tokens -= 1
                glob.last_send = now
                if bulk:
                    # The next bulk slot follows a schedule, not the last send: a send woken a
                    # little late (the event loop was busy) does not slow all later ones, and
                    # at most CATCH_UP slots are made up at once, so bulk never bursts.
                    step = 1 / self.per_second
                    late = now - self._bulk_slot
                    base = self._bulk_slot if late <= CATCH_UP * step else now  # else: idle
                    self._bulk_slot = base + step
                if chat is not None:
                    chat.tokens -= 1
                    chat.last_send = now
                self._forget(now)
                return
            # A hair more than needed, so that float rounding never leaves 0.99999 tokens.
            await self.sleep(wait + 1e-6)

    def _forget(self, now: float) -> None:
        self._since_forget += 1
        if self._since_forget < 1000:
            return
        self._since_forget = 0
        idle = [key for key, b in self._chats.items() if now - b.last_send > FORGET_AFTER]
        for key in idle:
            del self._chats[key]
