"""/summary and /export for staff and coordinators, /progress for employers.

The summary is chosen on one message that stays on screen as a small control panel: period
buttons (this month, last month, this quarter, this year), the scope for coordinators (the
whole programme or one provider), optional filters (province, sector, technical area), and
two actions. Each tap edits that message once; "Show" sends the three charts, the first one
captioned with the compact summary (three messages), "Export" sends the workbook and a zip of
the CSV files (two). The choice lives in user_data (persisted), so a restart keeps it; every
tap checks the person's role in the database again, and staff always see their own provider.
The figures are computed in a worker thread, so a large programme does not stall the bot.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from telegram import InputFile
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.dashboard.auth import secret_of
from bot.i18n import Translate, shorten
from bot.render import esc, grid
from bot.runtime import user_data
from handlers import menu
from handlers.context import Ask, handler
from models import content, links
from models.files import write_private
from models.tables import Contact, Provider, Role
from models.text import visible_len
from reports.figures import RELATIVE_PERIODS, Scope, relative_period
from reports.files import SUMMARY_ROLES, held_scope, period_export, shown_summary
from reports.text import (
    CAPTION_LIMIT,
    export_captions,
    period_labels,
    period_title,
    progress_text,
    shows_progress,
)

PREFIX = "sum:"
PERIOD = PREFIX + "p:"  # sum:p:this_month
PICK = PREFIX + "f:"  # sum:f:province -> show the choices
SET = PREFIX + "v:"  # sum:v:province:hue ; sum:v:province:- clears
SHOW = PREFIX + "go"
EXPORT = PREFIX + "x"
BACK = PREFIX + "back"
PROGRESS = "prg:"  # prg:this_quarter
CLEAR = "-"

CHOICE_KEY = "summary_choice"
FILTERS = ("provider", "province", "sector", "area")
PROGRESS_PERIODS = ("this_month", "this_quarter", "this_year")


# -- who may see what ------------------------------------------------------------------------


def choice_of(context: ContextTypes.DEFAULT_TYPE, contact: Contact) -> dict[str, Any]:
    """The person's current choice, cleaned: staff are always held to their own provider."""
    choice = dict(user_data(context).get(CHOICE_KEY) or {})
    if choice.get("period") not in RELATIVE_PERIODS:
        choice["period"] = "this_month"
    for key in FILTERS:
        choice.setdefault(key, None)
    choice["provider"] = held_scope(contact, Scope(provider_id=choice["provider"])).provider_id
    user_data(context)[CHOICE_KEY] = choice
    return choice


def scope_of(choice: dict[str, Any]) -> Scope:
    return Scope(
        provider_id=choice["provider"],
        province_code=choice["province"],
        sector_code=choice["sector"],
        area_code=choice["area"],
    )


# -- the control panel -----------------------------------------------------------------------


def panel_text(
    _: Translate, choice: dict[str, Any], language: str, provider: str | None, today: Any
) -> str:
    period = relative_period(choice["period"], today)
    filters = []
    if choice["province"]:
        filters.append(content.province(choice["province"]).name(language))  # type: ignore[union-attr]
    if choice["sector"]:
        filters.append(content.sector(choice["sector"]).short(language))  # type: ignore[union-attr]
    if choice["area"]:
        filters.append(content.area(choice["area"]).short(language))  # type: ignore[union-attr]
    lines = [
        _("<b>📊 Follow-up summary</b>"),
        _("Period: {period}", period=esc(period_title(period, language))),
        _("Scope: {scope}", scope=esc(provider or _("whole programme"))),
        _("Filters: {filters}", filters=esc(", ".join(filters) or _("none"))),
        "",
        _("Choose, then press 📊 Show or 📥 Export."),
    ]
    return "\n".join(lines)


def panel_buttons(
    _: Translate, choice: dict[str, Any], coordinator: bool
) -> list[list[tuple[str, str]]]:
    labels = period_labels(_)
    periods = [
        (("✓ " if key == choice["period"] else "") + labels[key], PERIOD + key)
        for key in RELATIVE_PERIODS
    ]
    rows = grid(periods, 2)
    if coordinator:
        rows.append([(_("🏢 Provider ▸"), PICK + "provider")])
    rows.append(
        [
            (_("📍 Province ▸"), PICK + "province"),
            (_("🏭 Sector ▸"), PICK + "sector"),
            (_("🔧 Area ▸"), PICK + "area"),
        ]
    )
    rows.append([(_("📊 Show"), SHOW), (_("📥 Export"), EXPORT)])
    return rows


def _provider_label(ask: Ask, provider_id: int | None) -> str | None:
    if provider_id is None:
        return None
    with ask.runtime.database.session() as session:
        provider = session.get(Provider, provider_id)
        return provider.name if provider is not None else None


@handler(*SUMMARY_ROLES, refusal="staff_only")
async def summary_command(ask: Ask) -> None:
    _, contact = ask._, ask.person
    assert contact is not None
    choice = choice_of(ask.context, contact)
    provider = _provider_label(ask, choice["provider"])
    await ask.reply(
        panel_text(_, choice, ask.language, provider, ask.today),
        panel_buttons(_, choice, contact.role == Role.COORDINATOR),
    )


async def _redraw(ask: Ask, contact: Contact) -> None:
    _ = ask._
    choice = choice_of(ask.context, contact)
    provider = _provider_label(ask, choice["provider"])
    await ask.edit(
        panel_text(_, choice, ask.language, provider, ask.today),
        panel_buttons(_, choice, contact.role == Role.COORDINATOR),
    )


# Every tap on the panel: staff and coordinators only, checked in the database each time.
panel = handler(*SUMMARY_ROLES, refusal="staff_only")


@panel
async def choose_period(ask: Ask) -> None:
    assert ask.person is not None
    key = ask.data.removeprefix(PERIOD)
    if key not in RELATIVE_PERIODS:
        await ask.stale()
        return
    choice_of(ask.context, ask.person)["period"] = key
    await ask.notice()
    await _redraw(ask, ask.person)


def _options(ask: Ask, kind: str) -> list[tuple[str, str]]:
    language = ask.language
    if kind == "province":
        return [(p.name(language), p.code) for p in content.provinces()]
    if kind == "sector":
        return [(s.label(language), s.code) for s in content.sectors()]
    if kind == "area":
        return [(a.label(language), a.code) for a in content.areas()]
    with ask.runtime.database.session() as session:
        rows = session.execute(sa.select(Provider.id, Provider.name).order_by(Provider.name)).all()
    return [(shorten(name), str(provider_id)) for provider_id, name in rows]


@panel
async def pick(ask: Ask) -> None:
    """Shows the choices of one filter on the panel itself."""
    _, contact = ask._, ask.person
    assert contact is not None
    kind = ask.data.removeprefix(PICK)
    if kind not in FILTERS or (kind == "provider" and contact.role != Role.COORDINATOR):
        await ask.stale()
        return
    await ask.notice()
    everyone = _("🌐 Whole programme") if kind == "provider" else _("No filter")
    buttons = [(label, f"{SET}{kind}:{code}") for label, code in _options(ask, kind)]
    rows = [[(everyone, f"{SET}{kind}:{CLEAR}")], *grid(buttons, 2), [(_("◀ Back"), BACK)]]
    titles = {
        "provider": _("Which provider?"),
        "province": _("Which province or city?"),
        "sector": _("Which sector?"),
        "area": _("Which technical area?"),
    }
    await ask.edit(titles[kind], rows)


def _valid(ask: Ask, kind: str, value: str) -> Any:
    """The stored value for a filter choice, or raises ValueError for a forged one."""
    if value == CLEAR:
        return None
    if kind == "province" and content.province(value) is not None:
        return value
    if kind == "sector" and content.sector(value) is not None:
        return value
    if kind == "area" and content.area(value) is not None:
        return value
    if kind == "provider" and value.isdigit():
        with ask.runtime.database.session() as session:
            if session.get(Provider, int(value)) is not None:
                return int(value)
    raise ValueError(value)


@panel
async def set_filter(ask: Ask) -> None:
    contact = ask.person
    assert contact is not None
    kind, _sep, value = ask.data.removeprefix(SET).partition(":")
    try:
        if kind not in FILTERS or (kind == "provider" and contact.role != Role.COORDINATOR):
            raise ValueError(kind)
        chosen = _valid(ask, kind, value)
    except ValueError:
        await ask.stale()
        return
    choice_of(ask.context, contact)[kind] = chosen
    await ask.notice()
    await _redraw(ask, contact)


@panel
async def back(ask: Ask) -> None:
    assert ask.person is not None
    await ask.notice()
    await _redraw(ask, ask.person)


def _caption(text: str) -> str:
    """At most Telegram's caption length as Telegram measures it, cut at a line (the template
    aims well below)."""
    if visible_len(text) <= CAPTION_LIMIT:
        return text
    lines = text.splitlines()
    while lines and visible_len("\n".join(lines)) > CAPTION_LIMIT - 2:
        lines.pop()
    return "\n".join(lines) + "\n…"


@panel
async def show(ask: Ask) -> None:
    _, rt, contact, language = ask._, ask.runtime, ask.person, ask.language
    assert contact is not None
    choice = choice_of(ask.context, contact)
    await ask.notice(_("Counting…"))

    def compute() -> tuple[str, list[Any]]:
        with rt.database.session() as session:
            return shown_summary(
                session,
                period=relative_period(choice["period"], rt.today()),
                scope=scope_of(choice),
                tz=rt.settings.tz,
                today=rt.today(),
                language=language,
            )

    text, charts = await asyncio.to_thread(compute)
    for index, chart in enumerate(charts):
        caption = _caption(text) if index == 0 else esc(chart.title)
        await ask.context.bot.send_photo(
            ask.chat_id, InputFile(chart.png, filename=f"{chart.name}.png"), caption=caption
        )


@panel
async def export(ask: Ask) -> None:
    _, rt, contact, language = ask._, ask.runtime, ask.person, ask.language
    assert contact is not None
    choice = choice_of(ask.context, contact)
    await ask.notice(_("Preparing the files…"))

    def build(folder: Path) -> tuple[Path, Path, str]:
        with rt.database.session() as session:
            return period_export(
                session,
                period=relative_period(choice["period"], rt.today()),
                scope=scope_of(choice),
                tz=rt.settings.tz,
                today=rt.today(),
                language=language,
                out=folder,
            )

    with tempfile.TemporaryDirectory(prefix="oshbot-export-") as folder:
        xlsx, archive, title = await asyncio.to_thread(build, Path(folder))
        bot = ask.context.bot
        if max(xlsx.stat().st_size, archive.stat().st_size) > DOCUMENT_LIMIT:
            await ask.reply(too_large(ask, [xlsx, archive], title))
            return
        for path, caption in zip((xlsx, archive), export_captions(_, title), strict=True):
            await bot.send_document(
                ask.chat_id, InputFile(path.read_bytes(), filename=path.name), caption=caption
            )


DOCUMENT_LIMIT = 50 * 1024 * 1024  # what a bot may send to Telegram as one file


def too_large(ask: Ask, files: list[Path], title: str) -> str:
    """Files Telegram would refuse: signed download links (models/links.py) where the web
    application is public, else where the operator finds the same export."""
    _, rt = ask._, ask.runtime
    settings = rt.settings
    if not settings.public_url:
        return _(
            "The files for {period} are too large to send here. The operator can make them "
            "with `oshbot export`, or set OSHBOT_PUBLIC_URL so that I can send download links.",
            period=esc(title),
        )
    kept = links.download_folder(settings.media_dir, now=rt.now())
    lines = [_("The files for {period} are too large to send here; download them within two "
               "days:", period=esc(title))]  # fmt: skip
    for path in files:
        target = write_private(kept / path.name, path.read_bytes())
        link = links.file_link(
            settings.public_url, secret_of(settings), settings.data_dir, target, now=rt.now()
        )
        lines.append(f'• <a href="{esc(link)}">{esc(path.name)}</a>')
    return "\n".join(lines)


# -- employers: /progress --------------------------------------------------------------------


def progress_buttons(_: Translate, current: str) -> list[list[tuple[str, str]]]:
    labels = period_labels(_)
    return [
        [
            (("✓ " if key == current else "") + labels[key], PROGRESS + key)
            for key in PROGRESS_PERIODS
        ]
    ]


def _progress_text(ask: Ask, contact: Contact, key: str) -> str:
    rt = ask.runtime
    with rt.database.reading() as session:
        return progress_text(
            session, contact, key, ask.language, today=rt.today(), tz=rt.settings.tz
        )


@handler(may=shows_progress, refusal="employers_progress")
async def progress_command(ask: Ask) -> None:
    assert ask.person is not None
    key = "this_quarter"
    text = await asyncio.to_thread(_progress_text, ask, ask.person, key)
    await ask.reply(text, progress_buttons(ask._, key))


@handler(may=shows_progress, refusal="employers_progress")
async def progress_period(ask: Ask) -> None:
    assert ask.person is not None
    key = ask.data.removeprefix(PROGRESS)
    if key not in PROGRESS_PERIODS:
        await ask.stale()
        return
    await ask.notice()
    text = await asyncio.to_thread(_progress_text, ask, ask.person, key)
    await ask.edit(text, progress_buttons(ask._, key))


def handlers_list() -> list:  # type: ignore[type-arg]
    return [
        CommandHandler("summary", summary_command),
        MessageHandler(menu.button(menu.SUMMARY), summary_command),
        CommandHandler("export", summary_command),
        CommandHandler("progress", progress_command),
        MessageHandler(menu.button(menu.PROGRESS), progress_command),
        CallbackQueryHandler(choose_period, pattern=f"^{PERIOD}"),
        CallbackQueryHandler(pick, pattern=f"^{PICK}"),
        CallbackQueryHandler(set_filter, pattern=f"^{SET}"),
        CallbackQueryHandler(back, pattern=f"^{BACK}$"),
        CallbackQueryHandler(show, pattern=f"^{SHOW}$"),
        CallbackQueryHandler(export, pattern=f"^{EXPORT}$"),
        CallbackQueryHandler(progress_period, pattern=f"^{PROGRESS}"),
    ]
