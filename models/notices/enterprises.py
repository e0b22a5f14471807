"""The enterprises staff look after, as the bot shows them (models/enterprises.py): a page of
the list with search and paging (the archived enterprises in a list of their own), an
enterprise's page with its history, moving it to another provider, and the notice to the staff
who receive it, archiving it and restoring it. Rendered here, in the reader's language,
for every channel; handlers/admin.py sends them on Telegram."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import N_, Translate, format_day, format_moment, format_number, shorten, translator
from models import content
from models.enterprises import PAGE as PAGE_SIZE
from models.enterprises import Archived, Found, History, upcoming
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
ARCHIVED_LIST = PREFIX + "alist:"  # epg:alist:<page>:<folded words>: the archived ones
ARCHIVE = PREFIX + "arc:"  # epg:arc:<enterprise>: what archiving does, and confirm
ARCHIVE_OK = PREFIX + "arcok:"  # epg:arcok:<enterprise>
RESTORE = PREFIX + "rst:"  # epg:rst:<enterprise>: confirm
RESTORE_OK = PREFIX + "rstok:"  # epg:rstok:<enterprise>
LINKS = "adm:links:"  # an enterprise's invite links (handlers/admin.py)
WORDS_MAX = 40  # folded search words carried by the paging buttons (64 bytes in all)


def list_payload(page: int, words: str, *, archived: bool = False) -> str:
    return f"{ARCHIVED_LIST if archived else LIST}{page}:{content.fold(words)[:WORDS_MAX]}"


def _place(enterprise: Enterprise, language: str) -> str:
    province = content.province(enterprise.province_code)
    sector = content.sector(enterprise.sector_code)
    return ", ".join(
        [
            sector.name(language) if sector else enterprise.sector_code,
            province.name(language) if province else enterprise.province_code,
        ]
    )


def listing(
    _: Translate, found: Found, words: str, language: str, *, archived: bool = False
) -> Reply:
    """A page of the enterprises followed up, or (`archived`) of the archived ones; the first
    ends with a button to the second when any archived enterprise matches."""
    shelf = (
        [
            [
                Action(
                    _("🗄 Archived: {count}", count=found.archived),
                    list_payload(0, words, archived=True),
                )
            ]
        ]
        if found.archived and not archived
        else []
    )
    if not found.total:
        if archived:
            text = (
                _("No archived enterprise matches “{words}”.", words=esc(words))
                if words
                else _("No enterprise is archived.")
            )
        elif words:
            text = _("No enterprise matches “{words}”.", words=esc(words))
        elif found.archived:
            text = _("All your enterprises are archived.")
        else:
            text = _("You have no enterprises yet. Add one with ➕ Add an enterprise.")
        return Reply(text, shelf)
    if archived:
        head = (
            _(
                "<b>Archived enterprises matching “{words}”: {count}</b>",
                words=esc(words),
                count=found.total,
            )
            if words
            else _("<b>Archived enterprises: {count}</b>", count=found.total)
        )
    else:
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
    if archived:
        lines.append(
            _("They are no longer followed up; their history stays. Open one to restore it.")
        )
    lines.append(_("To search, send /enterprises and a name or province."))
    rows = [[Action(shorten(e.name), f"{PAGE}{e.id}")] for e in found.enterprises]
    turns = []
    if found.page > 0:
        turns.append(
            Action(_("◀ Previous"), list_payload(found.page - 1, words, archived=archived))
        )
    if found.page + 1 < found.pages:
        turns.append(Action(_("Next ▶"), list_payload(found.page + 1, words, archived=archived)))
    if turns:
        rows.append(turns)
    return Reply(truncate_html("\n".join(lines), MESSAGE_LIMIT), rows + shelf)


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
    archived = (
        [
            _(
                "🗄 <b>Archived on {day} by {who}</b>: no longer followed up.",
                day=format_day(e.archived_at.astimezone(tz).date(), language),
                who=esc(found.archived_by or "—"),
            )
        ]
        if e.archived_at is not None
        else []
    )
    lines = [
        f"<b>{esc(e.name)}</b>",
        *archived,
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
    if e.archived_at is not None:
        # Its history can be read and its people looked after; it is restored before anything
        # new (links, a move) is done for it.
        actions = [
            [
                Action(_("👥 Members"), f"{MEMBERS}{e.id}"),
                Action(_("🎯 Action plan"), f"{PLAN}{e.id}"),
            ],
            [Action(_("♻️ Restore"), f"{RESTORE}{e.id}")],
        ]
        return Reply(truncate_html("\n".join(lines), MESSAGE_LIMIT), actions)
    actions = [
        [
            Action(_("🔗 Invite links"), f"{LINKS}{e.id}"),
            Action(_("👥 Members"), f"{MEMBERS}{e.id}"),
        ],
        [Action(_("🎯 Action plan"), f"{PLAN}{e.id}"), Action(_("✏️ Edit"), f"{EDIT}{e.id}")],
        [Action(_("↪️ Move to another provider"), f"{MOVE}{e.id}")],
        [Action(_("🗄 Archive"), f"{ARCHIVE}{e.id}")],
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


def archive_question(_: Translate, enterprise: Enterprise) -> Reply:
    """What archiving does, before it is done."""
    text = _(
        "Archive <b>{name}</b>? The programme stops following it up:\n"
        "• its invite links end at once;\n"
        "• its coming visits are cancelled and its open survey round closes;\n"
        "• it gets no more reminders, tips, results or broadcasts.\n"
        "Its history stays in the summaries and exports. Its people keep their data rights, "
        "can still send reports and messages, and get answers. You can restore it later.",
        name=esc(enterprise.name),
    )
    return Reply(
        text,
        [
            [
                Action(_("✅ Archive it"), f"{ARCHIVE_OK}{enterprise.id}"),
                Action(_("✖ Keep it"), f"{KEEP}{enterprise.id}"),
            ]
        ],
    )


def archived(_: Translate, done: Archived) -> Reply:
    text = _(
        "🗄 {name} is archived: {links} invite links ended, {visits} coming visits cancelled, "
        "{rounds} survey rounds closed. It is now in the 🗄 Archived list of /enterprises.",
        name=esc(done.enterprise.name),
        links=done.links,
        visits=done.visits,
        rounds=done.rounds,
    )
    if done.withdrawn:
        text += "\n" + _(
            "{count} messages waiting to go to its people (tips, reminders, invitations, "
            "broadcasts) will not be sent; answers to what they asked still go.",
            count=done.withdrawn,
        )
    return Reply(text, [[Action(_("🏭 Open its page"), f"{PAGE}{done.enterprise.id}")]])


def restore_question(_: Translate, enterprise: Enterprise) -> Reply:
    text = _(
        "Restore <b>{name}</b>? The programme follows it up again: the revisits it still needs "
        "are planned again, and it receives reminders, tips and results. Its old invite links "
        "stay ended: issue new ones from its page.",
        name=esc(enterprise.name),
    )
    return Reply(
        text,
        [
            [
                Action(_("✅ Restore it"), f"{RESTORE_OK}{enterprise.id}"),
                Action(_("✖ Keep it archived"), f"{KEEP}{enterprise.id}"),
            ]
        ],
    )


def restored(_: Translate, enterprise: Enterprise) -> Reply:
    text = _(
        "♻️ {name} is followed up again. Its old invite links stay ended: to let people join, "
        "issue new ones with 🔗 Invite links on its page.",
        name=esc(enterprise.name),
    )
    return Reply(text, [[Action(_("🏭 Open its page"), f"{PAGE}{enterprise.id}")]])


def shelf_notice(language: str, enterprise: Enterprise, what: str, who: str) -> Message:
    """For the other staff of its provider: `what` is "archived" or "restored"."""
    _ = translator(language)
    if what == "archived":
        text = _(
            "🗄 <b>{name}</b> was archived by {who}: it is no longer followed up and has left "
            "your list (it is under 🗄 Archived in /enterprises).",
            name=esc(enterprise.name), who=esc(who),
        )  # fmt: skip
    else:
        text = _(
            "♻️ <b>{name}</b> was restored by {who}: it is followed up again and back in your "
            "list. Its old invite links stay ended.",
            name=esc(enterprise.name), who=esc(who),
        )  # fmt: skip
    return Message(text, [[(_("🏭 Open its page"), f"{PAGE}{enterprise.id}")]])
