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
from telegram import InputFile, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler

from bot.i18n import Translate
from bot.render import esc, grid, inline
from bot.runtime import current_contact, language_of, runtime, tr, user_data
from handlers import menu
from models import content
from models.tables import Contact, Enterprise, Provider, Role
from reports.charts import summary_charts
from reports.figures import RELATIVE_PERIODS, Scope, relative_period
from reports.files import export_files, provider_name
from reports.summary import build_summary, enterprise_progress
from reports.text import CAPTION_LIMIT, period_title, progress_message, summary_message

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


def period_labels(_: Translate) -> dict[str, str]:
    return {
        "this_month": _("This month"),
        "last_month": _("Last month"),
        "this_quarter": _("This quarter"),
        "this_year": _("This year"),
    }


# -- who may see what ------------------------------------------------------------------------


def allowed(contact: Contact | None) -> bool:
    return contact is not None and contact.role in (Role.STAFF, Role.COORDINATOR)


def choice_of(context: ContextTypes.DEFAULT_TYPE, contact: Contact) -> dict[str, Any]:
    """The person's current choice, cleaned: staff are always held to their own provider."""
    choice = dict(user_data(context).get(CHOICE_KEY) or {})
    if choice.get("period") not in RELATIVE_PERIODS:
        choice["period"] = "this_month"
    for key in FILTERS:
        choice.setdefault(key, None)
    if contact.role == Role.STAFF:
        choice["provider"] = contact.provider_id
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


async def _provider_label(
    context: ContextTypes.DEFAULT_TYPE, provider_id: int | None
) -> str | None:
    if provider_id is None:
        return None
    with runtime(context).database.session() as session:
        provider = session.get(Provider, provider_id)
        return provider.name if provider is not None else None


async def summary_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    if not allowed(contact):
        await update.effective_message.reply_text(_("Sorry, this is only for programme staff."))
        return
    assert contact is not None
    choice = choice_of(context, contact)
    language = language_of(update, context)
    provider = await _provider_label(context, choice["provider"])
    await update.effective_message.reply_text(
        panel_text(_, choice, language, provider, runtime(context).today()),
        reply_markup=inline(panel_buttons(_, choice, contact.role == Role.COORDINATOR)),
    )


async def _redraw(update: Update, context: ContextTypes.DEFAULT_TYPE, contact: Contact) -> None:
    query = update.callback_query
    assert query is not None
    _ = tr(update, context)
    choice = choice_of(context, contact)
    provider = await _provider_label(context, choice["provider"])
    try:
        await query.edit_message_text(
            panel_text(_, choice, language_of(update, context), provider, runtime(context).today()),
            reply_markup=inline(panel_buttons(_, choice, contact.role == Role.COORDINATOR)),
        )
    except BadRequest as error:  # the same choice pressed again: nothing to change
        if "not modified" not in str(error).lower():
            raise


async def _guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Contact | None:
    """The contact behind a panel tap, or None after telling the person why not."""
    query = update.callback_query
    assert query is not None
    contact = current_contact(update, context)
    if not allowed(contact):
        await query.answer(
            tr(update, context)("Sorry, this is only for programme staff."), show_alert=True
        )
        return None
    return contact


async def choose_period(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    contact = await _guard(update, context)
    if contact is None:
        return
    key = query.data.removeprefix(PERIOD)
    if key not in RELATIVE_PERIODS:
        await query.answer(tr(update, context)("This button is no longer active."))
        return
    choice_of(context, contact)["period"] = key
    await query.answer()
    await _redraw(update, context, contact)


def _options(kind: str, language: str, context: ContextTypes.DEFAULT_TYPE) -> list[tuple[str, str]]:
    if kind == "province":
        return [(p.name(language), p.code) for p in content.provinces()]
    if kind == "sector":
        return [(s.label(language), s.code) for s in content.sectors()]
    if kind == "area":
        return [(a.label(language), a.code) for a in content.areas()]
    with runtime(context).database.session() as session:
        rows = session.execute(sa.select(Provider.id, Provider.name).order_by(Provider.name)).all()
    return [(name[:40], str(provider_id)) for provider_id, name in rows]


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Shows the choices of one filter on the panel itself."""
    query = update.callback_query
    assert query is not None and query.data is not None
    contact = await _guard(update, context)
    if contact is None:
        return
    _ = tr(update, context)
    kind = query.data.removeprefix(PICK)
    if kind not in FILTERS or (kind == "provider" and contact.role != Role.COORDINATOR):
        await query.answer(_("This button is no longer active."))
        return
    await query.answer()
    language = language_of(update, context)
    everyone = _("🌐 Whole programme") if kind == "provider" else _("No filter")
    buttons = [(label, f"{SET}{kind}:{code}") for label, code in _options(kind, language, context)]
    rows = [[(everyone, f"{SET}{kind}:{CLEAR}")], *grid(buttons, 2), [(_("◀ Back"), BACK)]]
    titles = {
        "provider": _("Which provider?"),
        "province": _("Which province or city?"),
        "sector": _("Which sector?"),
        "area": _("Which technical area?"),
    }
    await query.edit_message_text(titles[kind], reply_markup=inline(rows))


def _valid(kind: str, value: str, context: ContextTypes.DEFAULT_TYPE) -> Any:
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
        with runtime(context).database.session() as session:
            if session.get(Provider, int(value)) is not None:
                return int(value)
    raise ValueError(value)


async def set_filter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    contact = await _guard(update, context)
    if contact is None:
        return
    kind, _sep, value = query.data.removeprefix(SET).partition(":")
    try:
        if kind not in FILTERS or (kind == "provider" and contact.role != Role.COORDINATOR):
            raise ValueError(kind)
        chosen = _valid(kind, value, context)
    except ValueError:
        await query.answer(tr(update, context)("This button is no longer active."))
        return
    choice_of(context, contact)[kind] = chosen
    await query.answer()
    await _redraw(update, context, contact)


async def back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = await _guard(update, context)
    if contact is None:
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _redraw(update, context, contact)


def _caption(text: str) -> str:
    """At most Telegram's caption length, cut at a line (the template aims well below)."""
    if len(text) <= CAPTION_LIMIT:
        return text
    lines = text.splitlines()
    while lines and len("\n".join(lines)) > CAPTION_LIMIT - 2:
        lines.pop()
    return "\n".join(lines) + "\n…"


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    contact = await _guard(update, context)
    if contact is None:
        return
    _ = tr(update, context)
    rt = runtime(context)
    choice = choice_of(context, contact)
    language = language_of(update, context)
    await query.answer(_("Counting…"))

    def compute() -> tuple[str, list[Any]]:
        with rt.database.session() as session:
            summary = build_summary(
                session,
                period=relative_period(choice["period"], rt.today()),
                scope=scope_of(choice),
                tz=rt.settings.tz,
                today=rt.today(),
            )
            name = provider_name(session, summary.scope)
        return summary_message(summary, language, name), summary_charts(summary, language)

    text, charts = await asyncio.to_thread(compute)
    chat = update.effective_chat.id
    for index, chart in enumerate(charts):
        caption = _caption(text) if index == 0 else esc(chart.title)
        await context.bot.send_photo(
            chat, InputFile(chart.png, filename=f"{chart.name}.png"), caption=caption
        )


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    contact = await _guard(update, context)
    if contact is None:
        return
    _ = tr(update, context)
    rt = runtime(context)
    choice = choice_of(context, contact)
    language = language_of(update, context)
    await query.answer(_("Preparing the files…"))

    def build(folder: Path) -> tuple[Path, Path, str]:
        with rt.database.session() as session:
            summary = build_summary(
                session,
                period=relative_period(choice["period"], rt.today()),
                scope=scope_of(choice),
                tz=rt.settings.tz,
                today=rt.today(),
            )
            xlsx, _csvs, archive = export_files(
                session, summary=summary, tz=rt.settings.tz, language=language, out=folder
            )
        return xlsx, archive, period_title(summary.period, language)

    with tempfile.TemporaryDirectory(prefix="oshbot-export-") as folder:
        xlsx, archive, title = await asyncio.to_thread(build, Path(folder))
        chat = update.effective_chat.id
        await context.bot.send_document(
            chat,
            InputFile(xlsx.read_bytes(), filename=xlsx.name),
            caption=_(
                "Follow-up data, {period}: enterprises, improvements, survey answers "
                "(workers anonymous), visits and the summary tables.",
                period=esc(title),
            ),
        )
        await context.bot.send_document(
            chat,
            InputFile(archive.read_bytes(), filename=archive.name),
            caption=_("The same tables as CSV files (UTF-8)."),
        )


# -- employers: /progress --------------------------------------------------------------------


def progress_buttons(_: Translate, current: str) -> list[list[tuple[str, str]]]:
    labels = period_labels(_)
    return [
        [
            (("✓ " if key == current else "") + labels[key], PROGRESS + key)
            for key in PROGRESS_PERIODS
        ]
    ]


def _progress_text(
    context: ContextTypes.DEFAULT_TYPE, contact: Contact, key: str, language: str
) -> str:
    rt = runtime(context)
    assert contact.enterprise_id is not None
    with rt.database.session() as session:
        enterprise = session.get(Enterprise, contact.enterprise_id)
        assert enterprise is not None
        progress = enterprise_progress(
            session,
            enterprise_id=contact.enterprise_id,
            period=relative_period(key, rt.today()),
            tz=rt.settings.tz,
        )
        name = enterprise.name
    return progress_message(progress, language, name)


async def progress_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    if contact is None or contact.role != Role.EMPLOYER or contact.enterprise_id is None:
        await update.effective_message.reply_text(
            _("Progress figures are for employers of the enterprises in the programme.")
        )
        return
    key = "this_quarter"
    text = await asyncio.to_thread(
        _progress_text, context, contact, key, language_of(update, context)
    )
    await update.effective_message.reply_text(text, reply_markup=inline(progress_buttons(_, key)))


async def progress_period(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _ = tr(update, context)
    contact = current_contact(update, context)
    key = query.data.removeprefix(PROGRESS)
    if contact is None or contact.role != Role.EMPLOYER or contact.enterprise_id is None:
        await query.answer(
            _("Progress figures are for employers of the enterprises in the programme."),
            show_alert=True,
        )
        return
    if key not in PROGRESS_PERIODS:
        await query.answer(_("This button is no longer active."))
        return
    await query.answer()
    text = await asyncio.to_thread(
        _progress_text, context, contact, key, language_of(update, context)
    )
    try:
        await query.edit_message_text(text, reply_markup=inline(progress_buttons(_, key)))
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


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
