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

* **Overall**: Telegram allows `per_second` (30) sends in any sliding second, with no burst.
  The limiter keeps the times of its own sends and never exceeds `per_second` in any second of
  its clock. Bulk requests (the outbox sender passes ``rate_limit_args=BULK``) follow a schedule
  of slots, `per_second` in every 1 + `jitter` seconds (30 in 1.03 s: one every 34 ms, 29.1 a
  second), and never more than `per_second` of them go in any 1 + `jitter` seconds, so they
  never burst; a reply takes the next slot of the schedule too, so that bulk and replies
  together keep that pace, and bulk gives way to a reply that is waiting: replies jump the
  queue. The 30 ms absorb the jitter between our clock and Telegram's (two sends 1.00 s apart
  here may arrive 0.98 s apart there, after the network and a busy event loop): pacing at
  exactly 30 a second put the 31st send inside Telegram's window, and 20 ms were not always
  enough on a loaded machine (README, "Broadcast"). The margin is in time, not in messages:
  the earlier rule (bulk at most 29 in any second) gave away more and let each late wake-up
  push every later send back. A slot the event loop woke late for is
  made up as far as the window allows (at most CATCH_UP of them), so a stall never becomes a
  burst.
* **Per chat**: a bucket of 1 token a second (20 a minute for groups) holding `chat_burst` (3);
  a reply may use the burst Telegram tolerates (a button press answered with an edit and two
  messages), bulk sends to one chat keep a little more than a second apart (CHAT_MARGIN).
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
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.settings import SEND_JITTER

# rate_limit_args of the outbox sender's requests.
BULK: dict[str, Any] = {"bulk": True}

# Requests that put something in a chat; Telegram's flood limits count these.
LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
UNLIMITED = frozenset({"sendChatAction"})

GROUP_PER_SECOND = 20 / 60
# Bulk slots a late sender may make up at once (still within the window): a stall never turns
# into a burst.
CATCH_UP = 3
WINDOW = 1.0  # seconds: Telegram counts sends in any sliding second
# Seconds added to that second for bulk sends: the arrival jitter they absorb
# (OSHBOT_SEND_JITTER).
JITTER = SEND_JITTER
# Bulk sends to one chat keep this much more than 1/rate apart, for the same jitter.
CHAT_MARGIN = 0.05
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
        jitter: float = JITTER,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.chat_burst = chat_burst
        self.jitter = jitter
        self.max_retries = max_retries
        self.clock = clock
        self.sleep = sleep
        # Times of the sends of the last WINDOW, oldest first.
        self._recent: deque[float] = deque()
        self._replies_waiting = 0
        self._chats: dict[int | str, _Bucket] = {}
        self._paused_until = -math.inf
        self._bulk_slot = -math.inf
        self._since_forget = 0
        # The outbox sender's turn (bot/sender.py `drain`): one drain at a time for this bot.
        self.turn = asyncio.Lock()
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
        return max(bucket.wait_for(1), bucket.last_send + 1 / bucket.rate + CHAT_MARGIN - now, 0.0)

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

    def _window_wait(self, now: float, limit: int, window: float = WINDOW) -> float:
        """Seconds until fewer than `limit` sends remain in the sliding `window`."""
        recent = self._recent
        while recent and recent[0] <= now - WINDOW - self.jitter:
            recent.popleft()
        if len(recent) < limit:
            return 0.0
        return max(0.0, recent[len(recent) - limit] + window - now)

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

    def _limit(self) -> int:
        return max(1, math.floor(self.per_second))

    def _bulk_per_second(self) -> float:
        """`per_second` / (1 + jitter): 30 slots in every 1.03 s."""
        return self.per_second / (WINDOW + self.jitter)

    def _wait(self, now: float, chat: _Bucket | None, bulk: bool) -> float:
        if bulk:
            # The schedule keeps the pace; the actual sends keep the whole margin too, also
            # when late slots are made up (a stall then costs its own time, no more).
            waits = [
                self._window_wait(now, self._limit(), WINDOW + self.jitter),
                self._bulk_slot - now,
            ]
            if chat is not None:
                waits += [chat.wait_for(1), chat.last_send + 1 / chat.rate + CHAT_MARGIN - now]
            if self._replies_waiting:
                # A reply is waiting for a slot: bulk stands back until it has had it.
                waits.append(1 / self._bulk_per_second())
        else:
            waits = [self._window_wait(now, self._limit())]
            if chat is not None:
                waits.append(chat.wait_for(1))
        return max(0.0, *waits)

    async def _acquire(self, chat_id: int | str | None, *, bulk: bool) -> None:
        waiting = False
        try:
            while True:
                now = self.clock()
                if now < self._paused_until:
                    if bulk:
                        # The sender defers the row; no request goes out during a pause.
                        wait = max(1, math.ceil(self._paused_until - now))
                        raise RetryAfter(timedelta(seconds=wait))
                    await self.sleep(self._paused_until - now)
                    continue
                chat = self._chat_bucket(chat_id, now)
                wait = self._wait(now, chat, bulk)
                if wait <= 0:
                    # No await between the check and the take: coroutines cannot both take it.
                    self._recent.append(now)
                    # The next bulk slot follows a schedule, not the last send: a send woken a
                    # little late (the event loop was busy) does not slow all later ones; at
                    # most CATCH_UP slots are made up, and the window still holds. A reply takes
                    # a slot of the schedule too, so that bulk and replies together keep the
                    # pace; an idle schedule starts again from now.
                    step = 1 / self._bulk_per_second()
                    late = now - self._bulk_slot
                    if bulk or late <= CATCH_UP * step:
                        base = self._bulk_slot if late <= CATCH_UP * step else now
                        self._bulk_slot = base + step
                    if chat is not None:
                        chat.tokens -= 1
                        chat.last_send = now
                    self._forget(now)
                    return
                if not bulk and not waiting:
                    waiting = True
                    self._replies_waiting += 1
                # A hair more than needed, so that float rounding never leaves 0.99999 tokens.
                await self.sleep(wait + 1e-6)
        finally:
            if waiting:
                self._replies_waiting -= 1

    def _forget(self, now: float) -> None:
        self._since_forget += 1
        if self._since_forget < 1000:
            return
        self._since_forget = 0
        idle = [key for key, b in self._chats.items() if now - b.last_send > FORGET_AFTER]
        for key in idle:
            del self._chats[key]
