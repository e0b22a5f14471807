"""python-telegram-bot persistence in oshbot's own database.

PTB ships PicklePersistence (a file beside the process); keeping its state in the same database
as the domain means a deployment has one thing to back up, PostgreSQL deployments keep state
when the container is replaced, and tests isolate it with the database. Only user data is
persisted (JSON-safe values: a language chosen with /language); conversations are journeys,
whose positions live in `journey_state` (models/journeys/), and the conversation methods below
are the interface's, for no ConversationHandler.

The methods are coroutines on the event loop, so the database work runs in a worker thread:
a slow write must not hold up every other person's update. PTB hands over every recently active
person's user_data at each flush whether it changed or not; what was last written is remembered
(as its JSON text), so only a change reaches the database.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlmodel import select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from models.db import Database
from models.tables import BotState, utcnow

USER = "user"
CONVERSATION = "conv:"


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    def __init__(self, database: Database, *, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.database = database
        self._written: dict[tuple[str, str], str | None] = {}

    def _rows(self, kind: str) -> list[BotState]:
        with self.database.session() as session:
            rows = list(session.exec(select(BotState).where(BotState.kind == kind)))
        if kind == USER:
            for row in rows:
                self._written[(kind, row.key)] = _canonical(row.data)
        return rows

    async def _load(self, kind: str) -> list[BotState]:
        return await asyncio.to_thread(self._rows, kind)

    async def _store(self, kind: str, key: str, data: Any) -> None:
        text = _canonical(data)
        if (kind, key) in self._written and self._written[(kind, key)] == text:
            return
        if kind == USER and data is None and (kind, key) not in self._written:
            # PTB read every user_data row at start (`_rows`): a person it did not find has no
            # row to delete, and PTB flushes everyone it met, most with nothing to keep.
            self._written[(kind, key)] = None
            return
        await asyncio.to_thread(self._put, kind, key, data)
        # PTB reports a conversation only when its state changes, and erasure deletes state
        # rows behind our back: only user_data, handed over at every flush, is worth comparing.
        if kind == USER:
            self._written[(kind, key)] = text

    def _put(self, kind: str, key: str, data: Any) -> None:
        with self.database.session() as session:
            row = session.get(BotState, (kind, key))
            if data is None:
                if row is not None:
                    session.delete(row)
                return
            if row is None:
                row = BotState(kind=kind, key=key, data=data)
            else:
                row.data = data
                row.updated_at = utcnow()
            session.add(row)

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return {int(row.key): dict(row.data or {}) for row in await self._load(USER)}

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return {
            tuple(json.loads(row.key)): row.data for row in await self._load(CONVERSATION + name)
        }

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        await self._store(CONVERSATION + name, json.dumps(list(key)), new_state)

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._store(USER, str(user_id), data or None)

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        await self._store(USER, str(user_id), None)

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None


def _canonical(data: Any) -> str | None:
    """What a value is stored as, to tell whether it changed; None: nothing stored."""
    return None if data is None else json.dumps(data, sort_keys=True, default=str)
