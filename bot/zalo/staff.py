"""/summary, /export and /web on Zalo, for staff and coordinators, through the same domain
functions as Telegram's summary panel (reports/files.py `shown_summary`, `period_export`) and
Telegram's /web (models/websignin.py):

* /summary: the compact summary as plain text, then its charts as signed-link photos;
* /export: the workbook and the zip of CSV files as signed download links ("Tải về: <link>",
  bot/zalo/driver.py), or the driver's sentence that a file cannot be sent without
  OSHBOT_PUBLIC_URL;
* /web: the one-time sign-in link to the web dashboard (bot/dashboard/), as Telegram gives it,
  to staff of a provider and coordinators (`websignin.may_use_dashboard`).

Both cover the period Telegram's panel opens with (this month), or the one typed after the
command, by its name or its number in Telegram's order ("/summary quý này", "/export 4"), and
the panel's filters typed as words beside it, in any order ("/summary quý này Đà Nẵng dệt
may": a province or city, a sector, a technical area; reports/filters.py reads them into the
panel's Scope). Words that name nothing are answered with what may be typed. Staff see their
provider's figures and coordinators the whole programme, as the panel opens (choosing another
provider stays on Telegram). Anyone else is refused as on Telegram (`refusal`).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.dashboard.auth import sign_in_url
from bot.i18n import Translate, translator
from models import content, websignin
from models.journeys.core import Input, Reply
from models.journeys.errors import error_text
from models.programme import ProgrammeError
from models.tables import Contact
from models.text import esc
from reports import filters
from reports.charts import Chart
from reports.figures import Scope, relative_period
from reports.files import SUMMARY_ROLES, held_scope, period_export, shown_summary
from reports.text import export_captions, period_labels

if TYPE_CHECKING:
    from bot.zalo.driver import ZaloDriver, _Who

COMMANDS = frozenset({"summary", "export", "web"})
# The period Telegram's panel opens with (handlers/summary.py `choice_of`).
PERIOD = "this_month"


def refusal(command: str | None, contact: Contact | None) -> str | None:
    """Why the person may not use this command (Telegram's refusal), or None."""
    if command == "web":
        return None if websignin.may_use_dashboard(contact) else "staff_only"
    if command in COMMANDS and (contact is None or contact.role not in SUMMARY_ROLES):
        return "staff_only"
    return None


async def answer(driver: ZaloDriver, chat: str, who: _Who, given: Input) -> None:
    """/summary, /export or /web, for someone `refusal` lets through."""
    _ = translator(who.language)
    if given.command == "web":
        url = await asyncio.to_thread(_web, driver, who)
        refused = error_text(_, ProgrammeError("staff_only"), who.language)
        await driver.say(chat, websignin.link_text(_, url) if url else refused, who)
        return
    words = (given.text or "").split(maxsplit=1)
    typed = filters.read(words[1] if len(words) > 1 else "")
    if not typed.understood:
        await driver.say(chat, _unread(_, who.language, given.command, typed), who, html=False)
        return
    key, scope = typed.period or PERIOD, typed.scope()
    if given.command == "summary":
        text, charts = await asyncio.to_thread(_summary, driver, who, key, scope)
        await driver.say(chat, text, who)
        for chart in charts:
            photo = Reply(esc(chart.title), photo=chart.png, photo_name=f"{chart.name}.png")
            await driver.reply(chat, photo, who, [])
        return
    for reply in await asyncio.to_thread(_export, driver, who, key, scope):
        await driver.reply(chat, reply, who, [])


def _today(driver: ZaloDriver) -> date:
    return driver.clock().astimezone(driver.settings.tz).date()


def _unread(_: Translate, language: str, command: str | None, typed: filters.Typed) -> str:
    """What the words after /summary or /export may name, after those that named nothing (or
    a kind named twice), in the person's language."""
    head = (
        _("I did not understand “{words}”.", words=" ".join(typed.unknown))
        if typed.unknown
        else _("Please name at most one period, one province, one sector and one area.")
    )
    example = " ".join(
        (period_labels(_)["this_quarter"].lower(), content.province("da-nang").name(language))  # type: ignore[union-attr]
    )
    accepted = _(
        "Type /{command} followed by any of these, in any order:\n"
        "• a period: {periods}\n"
        "• a province or city: {provinces}\n"
        "• a sector: {sectors}\n"
        "• a technical area: {areas}\n"
        "For example: /{command} {example}",
        command=command,
        periods=", ".join(period_labels(_).values()),
        provinces=", ".join(p.name(language) for p in content.provinces()),
        sectors="; ".join(s.short(language) for s in content.sectors()),
        areas="; ".join(a.short(language) for a in content.areas()),
        example=example,
    )  # fmt: skip
    return f"{head}\n\n{accepted}"


def _scope(who: _Who, scope: Scope) -> Scope:
    """The filters typed, on the provider the person may see (staff: their own)."""
    assert who.contact is not None
    return held_scope(who.contact, scope)


def _summary(driver: ZaloDriver, who: _Who, key: str, scope: Scope) -> tuple[str, list[Chart]]:
    today = _today(driver)
    with driver.database.reading() as session:
        return shown_summary(
            session, period=relative_period(key, today), scope=_scope(who, scope),
            tz=driver.settings.tz, today=today, language=who.language,
        )  # fmt: skip


def _web(driver: ZaloDriver, who: _Who) -> str | None:
    """A new sign-in link's address, as Telegram's /web issues it; None when the person may no
    longer have one (read again in the transaction)."""
    assert who.contact is not None
    with driver.database.session() as session:
        try:
            link = websignin.issue(
                session, session.get(Contact, who.contact.id), now=driver.clock()
            )
        except ProgrammeError:
            return None
        return sign_in_url(driver.settings, link.id)


def _export(driver: ZaloDriver, who: _Who, key: str, scope: Scope) -> list[Reply]:
    """The two files as Telegram sends them, with Telegram's captions."""
    _ = translator(who.language)
    today = _today(driver)
    with (
        tempfile.TemporaryDirectory(prefix="oshbot-export-") as folder,
        # A transaction, not `reading`: the sheets stream their rows through a server-side
        # cursor, which PostgreSQL opens only inside one.
        driver.database.session() as session,
    ):
        xlsx, archive, title = period_export(
            session, period=relative_period(key, today), scope=_scope(who, scope),
            tz=driver.settings.tz, today=today, language=who.language, out=Path(folder),
        )  # fmt: skip
        captions = export_captions(_, title)
        return [
            Reply(caption, document=path.read_bytes(), document_name=path.name)
            for path, caption in zip((xlsx, archive), captions, strict=True)
        ]
