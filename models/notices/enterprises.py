"""The enterprises staff look after, as the bot shows them (models/enterprises.py): a page of
the list with search and paging, an enterprise's page with its history, moving it to another
provider, and the notice to the staff who receive it. Rendered here, in the reader's language,
for every channel; handlers/admin.py sends them on Telegram."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import N_, Translate, format_day, format_moment, format_number, shorten, translator
from models import content
from models.enterprises import PAGE as PAGE_SIZE
from models.enterprises import Found, History, upcoming
from models.journeys.admin import EDIT
from models.journeys.core import Action, Reply
from models.members import MEMBERS
from models.outbox import Message
from models.plans import SHOW_DATA as PLAN
from models.tables import Enterprise, PlanStatus, Provider, ReviewStatus, Role, VisitStatus
from models.text import MESSAGE_LIMIT, esc, truncate_html

PREFIX = "epg:"
LIST = PREFIX + "list:"  # epg:list:<page>:<folded words>
PAGE = PREFIX + "show:"  # epg:show:<enterprise>
MOVE = PREFIX + "move:"  # epg:move:<enterprise>: choose the provider
MOVE_TO = PREFIX + "to:"  # epg:to:<enterprise>:<provider>: confirm
MOVE_OK = PREFIX + "ok:"  # epg:ok:<enterprise>:<provider>
KEEP = PREFIX + "keep:"  # epg:keep:<enterprise>
LINKS = "adm:links:"  # an enterprise's invite links (handlers/admin.py)
WORDS_MAX = 40  # folded search words carried by the paging buttons (64 bytes in all)


def list_payload(page: int, words: str) -> str:
    return f"{LIST}{page}:{content.fold(words)[:WORDS_MAX]}"


def _place(enterprise: Enterprise, language: str) -> str:
    province = content.province(enterprise.province_code)
    sector = content.sector(enterprise.sector_code)
    return ", ".join(
        [
            sector.name(language) if sector else enterprise.sector_code,
            province.name(language) if province else enterprise.province_code,
        ]
    )


def listing(_: Translate, found: Found, words: str, language: str) -> Reply:
    if not found.total:
        if words:
            return Reply(_("No enterprise matches “{words}”.", words=esc(words)))
        return Reply(_("You have no enterprises yet. Add one with ➕ Add an enterprise."))
    head = (
        _("<b>Enterprises matching “{words}”: {count}</b>", words=esc(words), count=found.total)
        if words
        else _("<b>Your enterprises: {count}</b>", count=found.total)
    )
    lines = [head]
    first = found.page * PAGE_SIZE
    for number, e in enumerate(found.enterprises, start=first + 1):
        province = content.province(e.province_code)
        where = province.name(language) if province else e.province_code
        workers = _("{count} workers", count=format_number(e.workers, language))
        lines.append(f"{number}. <b>{esc(e.name)}</b> — {esc(where)}, {workers}")
    if found.pages > 1:
        lines.append(_("Page {page} of {pages}.", page=found.page + 1, pages=found.pages))
    lines.append(_("To search, send /enterprises and a name or province."))
    rows = [[Action(shorten(e.name), f"{PAGE}{e.id}")] for e in found.enterprises]
    turns = []
    if found.page > 0:
        turns.append(Action(_("◀ Previous"), list_payload(found.page - 1, words)))
    if found.page + 1 < found.pages:
        turns.append(Action(_("Next ▶"), list_payload(found.page + 1, words)))
    if turns:
        rows.append(turns)
    return Reply(truncate_html("\n".join(lines), MESSAGE_LIMIT), rows)


VISIT_STATES = {
    VisitStatus.PLANNED: N_("to be planned"),
    VisitStatus.PROPOSED: N_("date proposed"),
    VisitStatus.CONFIRMED: N_("confirmed"),
    VisitStatus.DONE: N_("done"),
    VisitStatus.MISSED: N_("did not happen"),
    VisitStatus.CANCELLED: N_("cancelled"),
}


def page(_: Translate, found: History, language: str, tz: ZoneInfo) -> Reply:
    """An enterprise's page: who it is, and what has happened there since its training."""
    e = found.enterprise
    n = lambda value: format_number(value, language)  # noqa: E731
    lines = [
        f"<b>{esc(e.name)}</b>",
        esc(_place(e, language)) + " · " + _("{count} workers", count=n(e.workers)),
        _("Provider: {name}", name=esc(found.provider)),
        _("Training: {day}", day=format_day(e.intervention_date, language)),
        _(
            "People: {employers} employers, {workers} workers",
            employers=n(found.people[Role.EMPLOYER]),
            workers=n(found.people[Role.WORKER]),
        ),
        "",
        _("<b>Follow-up rounds</b>"),
    ]
    for round_, answers in found.rounds:
        state = _("closed") if round_.closed_at else _("open")
        lines.append(
            _(
                "Round {number} ({state}), opened {day}: {count} answers",
                number=round_.number,
                state=state,
                day=format_day(round_.opened_at.astimezone(tz).date(), language),
                count=n(answers),
            )
        )
    if not found.rounds:
        lines.append(_("No round yet."))
    lines.append(_("<b>Visits</b>"))
    done = [v for v in found.visits if v.status == VisitStatus.DONE]
    lines.append(
        _("Done: {done} of {all}", done=n(len(done)), all=n(len(found.visits)))
        + (
            " · "
            + _("last {day}", day=format_day(done[-1].done_at.astimezone(tz).date(), language))
            if done and done[-1].done_at
            else ""
        )
    )
    coming = upcoming(found.visits)
    if coming is not None:
        when = (
            format_moment(coming.scheduled_at, language, tz)
            if coming.scheduled_at
            else format_day(coming.due_on, language)
        )
        lines.append(_("Next: {when} ({state})", when=when, state=_(VISIT_STATES[coming.status])))
    lines.append(_("<b>Improvement reports</b>"))
    verified = found.reports[ReviewStatus.VERIFIED] + found.reports[ReviewStatus.GOOD_PRACTICE]
    waiting = found.reports[ReviewStatus.SUBMITTED]
    lines.append(
        _(
            "{count} sent: {verified} verified, {waiting} waiting for review",
            count=n(verified + waiting),
            verified=n(verified),
            waiting=n(waiting),
        )
        + (
            " · " + _("latest {moment}", moment=format_moment(found.latest_report, language, tz))
            if found.latest_report
            else ""
        )
    )
    lines.append(_("<b>Action plan</b>"))
    planned = sum(found.plan.values())
    lines.append(
        _(
            "{count} items: {done} done, {in_use} still in use, {ended} no longer in use",
            count=n(planned),
            done=n(found.plan.get(PlanStatus.DONE, 0)),
            in_use=n(found.plan.get(PlanStatus.IN_USE, 0)),
            ended=n(found.plan.get(PlanStatus.ENDED, 0)),
        )
        if planned
        else _("No plan recorded.")
    )
    lines.append(_("<b>Messages</b>"))
    lines.append(
        _(
            "Threads: {open} open, {closed} closed",
            open=n(found.threads_open),
            closed=n(found.threads_closed),
        )
    )
    actions = [
        [
            Action(_("🔗 Invite links"), f"{LINKS}{e.id}"),
            Action(_("👥 Members"), f"{MEMBERS}{e.id}"),
        ],
        [Action(_("🎯 Action plan"), f"{PLAN}{e.id}"), Action(_("✏️ Edit"), f"{EDIT}{e.id}")],
        [Action(_("↪️ Move to another provider"), f"{MOVE}{e.id}")],
    ]
    return Reply(truncate_html("\n".join(lines), MESSAGE_LIMIT), actions)


def move_choices(_: Translate, enterprise: Enterprise, providers: list[Provider]) -> Reply:
    if not providers:
        return Reply(_("There is no other provider to move it to."))
    rows = [[Action(shorten(p.name), f"{MOVE_TO}{enterprise.id}:{p.id}")] for p in providers]
    rows.append([Action(_("✖ Keep it"), f"{KEEP}{enterprise.id}")])
    return Reply(_("Move {name} to which provider?", name=esc(enterprise.name)), rows)


def move_question(_: Translate, enterprise: Enterprise, source: str, target: Provider) -> Reply:
    text = _(
        "Move <b>{name}</b> from {source} to <b>{target}</b>? Its reports, rounds, visits and "
        "plan go with it; its open messages go to the new provider's inbox, and its coming "
        "visits wait for the new provider's staff to plan.",
        name=esc(enterprise.name), source=esc(source), target=esc(target.name),
    )  # fmt: skip
    return Reply(
        text,
        [
            [
                Action(_("✅ Move it"), f"{MOVE_OK}{enterprise.id}:{target.id}"),
                Action(_("✖ Keep it"), f"{KEEP}{enterprise.id}"),
            ]
        ],
    )


def moved(_: Translate, enterprise: Enterprise, target: Provider) -> str:
    return _(
        "↪️ {name} now belongs to {target}; its staff were told.",
        name=esc(enterprise.name), target=esc(target.name),
    )  # fmt: skip


def transferred_notice(language: str, enterprise: Enterprise, source: str) -> Message:
    """For each staff member of the provider an enterprise was moved to."""
    _ = translator(language)
    text = _(
        "↪️ <b>{name}</b> has been moved to your provider from {source}, with its history. "
        "Its coming visits wait for you to plan them.",
        name=esc(enterprise.name), source=esc(source),
    )  # fmt: skip
    return Message(text, [[(_("🏭 Open its page"), f"{PAGE}{enterprise.id}")]])
