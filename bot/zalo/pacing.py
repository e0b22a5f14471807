"""Pacing of what oshbot sends to Zalo: overall and per chat, replies before bulk.

The platform publishes no rate limits and no ``retry_after``, so a bot that waits for 429s to
find its pace learns it by losing messages. This pacer keeps the bot below the limits chosen in
:mod:`bot.zalo.limits` before the platform has to say anything:

* **overall**: a token bucket of ``per_second`` tokens a second. Bulk sends (broadcasts, tips,
  reminders from the outbox) keep a fixed spacing of ``1/per_second`` and leave ``reserve``
  tokens untouched, so a person waiting for an answer always finds a token at once;
* **per chat**: a bucket of ``per_chat_per_second`` holding ``chat_burst`` tokens, so a reply
  of two messages goes out together and a third waits its turn;
* **after a rate-limit answer** every send waits ``pause()`` seconds: the platform limits the
  bot, not one request.

PTB's rate limiters cannot be reused here: they wrap a ``telegram.Bot``. The logic mirrors
``bot.ratelimit.PacedRateLimiter``; ``clock`` and ``sleep`` are injectable so tests run it on
the sandbox's fake clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.zalo.limits import CHAT_RATE, SEND_RATE

__all__ = ["DEFAULT_BACKOFF", "Pacer"]

# The pause after a rate-limit answer that names no retry_after (Zalo documents none).
DEFAULT_BACKOFF = 2.0
# Chat buckets are forgotten once this many exist; a forgotten bucket is a full one, which is
# what an idle chat's bucket would be anyway after chat_burst / rate seconds.
_MAX_CHATS = 4096


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for(self, tokens: float) -> float:
        return 0.0 if self.tokens >= tokens else (tokens - self.tokens) / self.rate


class Pacer:
    def __init__(
        self,
        per_second: float = SEND_RATE,
        per_chat_per_second: float = CHAT_RATE,
        *,
        chat_burst: int = 2,
        reserve: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0 or per_chat_per_second <= 0:
            raise ValueError("rates must be positive")
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.chat_burst = max(1, chat_burst)
        capacity = max(1.0, per_second)
        self.reserve = min(reserve, capacity - 1)
        self.clock = clock
        self.sleep = sleep
        now = clock()
        self._overall = _Bucket(per_second, capacity, capacity, now)
        self._chats: dict[str, _Bucket] = {}
        self._next_bulk = -math.inf
        self._paused_until = -math.inf

    def pause(self, seconds: float | None) -> None:
        """Hold every send for ``seconds`` (``None``: the default backoff) from now."""
        wait = DEFAULT_BACKOFF if seconds is None else max(0.0, seconds)
        self._paused_until = max(self._paused_until, self.clock() + wait)

    def _chat(self, chat_id: str, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) >= _MAX_CHATS:
                self._chats.clear()
            bucket = _Bucket(self.per_chat_per_second, self.chat_burst, self.chat_burst, now)
            self._chats[chat_id] = bucket
        return bucket

    async def acquire(self, chat_id: str, *, bulk: bool = False) -> None:
        """Wait until one message to ``chat_id`` may go out, and count it."""
        while True:
            now = self.clock()
            chat = self._chat(chat_id, now)
            self._overall.refill(now)
            chat.refill(now)
            wait = max(
                self._paused_until - now,
                self._overall.wait_for(1 + (self.reserve if bulk else 0)),
                chat.wait_for(1),
                (self._next_bulk - now) if bulk else 0.0,
            )
            if wait <= 0:
                self._overall.tokens -= 1
                chat.tokens -= 1
                if bulk:
                    self._next_bulk = max(now, self._next_bulk) + 1 / self.per_second
                return
            await self.sleep(wait)
