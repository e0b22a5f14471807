"""Plays people against a running Application through the sandbox, as the demo and the tests do.

Updates go to `Application.process_update` one by one, so a scene is deterministic; a person
waits a few (sandbox) seconds between actions, as people do, which keeps the sandbox's
per-chat rate limits honest without slowing anything down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.sandbox import FakeClock, Sandbox, SandboxUser, SentMessage

HUMAN_PAUSE = 5.0


@dataclass
class Transcript:
    """What was said, in order, as Markdown."""

    lines: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.lines += ["", f"## {text}", ""]

    def note(self, text: str) -> None:
        self.lines += [f"*{text}*", ""]

    def user(self, name: str, text: str) -> None:
        self.lines += [f"**{name}** → {text}", ""]

    def bot(self, message: SentMessage, buttons: list[tuple[str, str | None]]) -> None:
        body = message.plain or message.caption or ""
        if message.photo:
            body = f"[🖼 photo] {body}"
        if message.voice_file_id:
            body = f"[🎤 voice note] {body}"
        if message.document_filename:
            body = f"[📄 {message.document_filename}] {body}"
        quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
        self.lines.append(quoted or "> (empty)")
        if buttons:
            self.lines.append("> " + " ".join(f"[{label}]" for label, _ in buttons))
        self.lines.append("")

    def text(self) -> str:
        return "\n".join(self.lines).strip() + "\n"


class Stage:
    """The sandbox, the Application and an optional transcript of everything said."""

    def __init__(
        self,
        sandbox: Sandbox,
        application: Application,  # type: ignore[type-arg]
        *,
        api_clock: FakeClock | None = None,
        transcript: Transcript | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.application = application
        self.api_clock = api_clock
        self.transcript = transcript

    async def deliver(self) -> None:
        """Hands every update people produced to the Application, as polling would."""
        for raw in self.sandbox.take_updates():
            await self.application.process_update(Update.de_json(raw, self.application.bot))

    def person(self, user_id: int, name: str = "An", language_code: str = "vi") -> Person:
        return Person(self, self.sandbox.user(user_id, name, language_code=language_code))


@dataclass
class Person:
    stage: Stage
    account: SandboxUser

    @property
    def id(self) -> int:
        return int(self.account.id)

    @property
    def name(self) -> str:
        return str(self.account.first_name)

    async def _act(self, shown: str, produce: Callable[[], Any]) -> SentMessage | None:
        if self.stage.api_clock is not None:
            self.stage.api_clock.advance(HUMAN_PAUSE)
        before = len(self.account.messages())
        produce()
        await self.stage.deliver()
        after = self.account.messages()
        transcript = self.stage.transcript
        if transcript is not None:
            transcript.user(self.name, shown)
            for message in after[before:]:
                transcript.bot(message, self.account.buttons(message))
        return after[-1] if len(after) > before else None

    async def say(self, text: str) -> SentMessage | None:
        if text.startswith("/"):
            command, *args = text.split(maxsplit=1)
            return await self._act(text, partial(self.account.send_command, command, *args))
        return await self._act(text, partial(self.account.send_text, text))

    async def send(self, kind: str, *args: Any) -> SentMessage | None:
        return await self._act(f"[{kind}]", partial(getattr(self.account, f"send_{kind}"), *args))

    async def press(self, label: str, message: SentMessage | None = None) -> SentMessage | None:
        """Presses the button whose label contains `label` on `message` (default: the newest
        message that has such a button)."""
        candidates = [message] if message else list(reversed(self.account.messages()))
        for candidate in candidates:
            for text, data in self.account.buttons(candidate):
                if label in text and data is not None:
                    press = partial(self.account.press, candidate.message_id, data)
                    return await self._act(f"[{text}]", press)
        raise LookupError(f"no button {label!r}; last message: {self.last_text()!r}")

    async def press_data(self, message_id: int, data: str) -> SentMessage | None:
        press = partial(self.account.press, message_id, data, strict=False)
        return await self._act(f"[button data {data!r}]", press)

    def last_text(self) -> str:
        messages = self.account.messages()
        if not messages:
            return ""
        return messages[-1].plain or messages[-1].caption or ""

    def texts(self) -> list[str]:
        return [m.plain or m.caption or "" for m in self.account.messages()]

    def answers(self) -> list[str | None]:
        return self.account.answers()
