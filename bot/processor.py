"""How updates are scheduled: one person's in the order they sent them, different people's at
the same time.

python-telegram-bot either handles every update one after the other (one slow reply holds up
everyone) or, with `concurrent_updates`, all at once (a person's "Yes" could overtake the
question it answers, and two steps of one conversation could race on its state). This
processor keeps a FIFO lock per person: their updates run one at a time in arrival order, while
other people's run alongside.

It also applies the flood guard at arrival (bot/guard.py), so that a flood is counted at the
pace it was sent, and input to be dropped is dropped before it waits in the person's queue or
costs anything. The guard handler then only acts on the verdict (the warning).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.guard import InboundLimiter, Verdict

# Enough for every person active at once; a person's queued updates also take a slot each, but
# the guard keeps that queue short.
MAX_CONCURRENT = 256


def person_of(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerPersonProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        limiter: Callable[[], InboundLimiter | None] = lambda: None,
        max_concurrent_updates: int = MAX_CONCURRENT,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.limiter = limiter
        self.verdicts: dict[int, Verdict] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        person = person_of(update)
        if person is None:
            await coroutine
            return
        guard = self.limiter()
        if guard is not None and isinstance(update, Update):
            verdict = guard.judge(update)
            if verdict in ("drop", "album"):
                coroutine.close()  # type: ignore[attr-defined]
                return
            self.verdicts[id(update)] = verdict
        lock = self._locks.setdefault(person, asyncio.Lock())
        self._queued[person] = self._queued.get(person, 0) + 1
        try:
            # asyncio.Lock wakes its waiters first come, first served: arrival order.
            async with lock:
                await coroutine
        finally:
            self.verdicts.pop(id(update), None)
            self._queued[person] -= 1
            if not self._queued[person]:  # nobody waiting: forget the person, memory stays flat
                del self._queued[person], self._locks[person]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
