"""Coordinators add a provider; staff add an enterprise: two forms (steps.py).

Adding an enterprise asks its name, sector, province (a button, or the name typed), workers
and training day, shows the card to check, and on ✅ Save stores it and hands out its invite
links (one QR code per role, each with its short code). Adding a provider asks its name and
province and offers a staff invite. Who may do either is checked on every step against the
database, never trusted from a button.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from bot.i18n import N_, Translate, format_day, format_number, shorten
from models import content, programme
from models.journeys.core import Action, Input, Outcome, Place, Reply, Turn
from models.journeys.errors import error_text
from models.journeys.steps import ENDS, Form, Step, choice, one_of, typed
from models.media import invite_qr_png
from models.members import MEMBERS, NEW_LINKS
from models.programme import (
    EnterpriseDraft,
    ProgrammeError,
    add_enterprise,
    add_provider,
    clean_name,
    format_short_code,
    parse_day,
    parse_workers,
)
from models.tables import Contact, Enterprise, Invite, Role
from models.text import esc

PREFIX = "adm:"
ADD_PROVIDER = PREFIX + "addprov"
STAFF_INVITE = PREFIX + "staffinv:"
PARTNER_INVITE = PREFIX + "partinv:"  # handlers/admin.py
PROVIDER_PROVINCE = PREFIX + "pprov:"
ENT_SECTOR = PREFIX + "sector:"
ENT_PROVINCE = PREFIX + "eprov:"
ENT_TODAY = PREFIX + "today"
ENT_CONFIRM = PREFIX + "confirm"
ENT_CANCEL = PREFIX + "cancel"
EDIT = PREFIX + "edit:"  # adm:edit:<enterprise>: ✏️ on an enterprise's page
EDIT_FIELD = PREFIX + "field:"
ENTERPRISE_PAGE = "epg:show:"  # models/notices/enterprises.py


def allowed(contact: Contact | None, *roles: Role) -> bool:
    return contact is not None and contact.role in roles


def province_actions(language: str, prefix: str) -> list[list[Action]]:
    buttons = [Action(p.name(language), prefix + p.code) for p in content.provinces()]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def province_step(ask: str, prefix: str) -> Step:
    def prompt(turn: Turn) -> Reply:
        text = turn._(ask, name=esc(turn.data.get("name", "")))
        return Reply(text, province_actions(turn.language, prefix))

    def found(text: str) -> str | None:
        province = content.find_province(text)
        return province.code if province is not None else None

    return Step(
        "province",
        prompt,
        choice(
            prefix, lambda code: content.province(code) is not None, typed=found,
            wrong="unknown_province",
        ),
        reask="actions",
    )  # fmt: skip


# -- a provider --------------------------------------------------------------------------------


class NewProvider(Form):
    name = "admin.provider"
    steps = (
        Step("name", lambda turn: Reply(turn._("What is the name of the provider?")),
             typed(clean_name)),
        province_step(N_("In which province or city does {name} work?"), PROVIDER_PROVINCE),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        return entry.payload == ADD_PROVIDER

    def owns(self, payload: str) -> bool:
        return payload == ADD_PROVIDER or payload.startswith(PROVIDER_PROVINCE)

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        if not allowed(turn.contact, Role.COORDINATOR):
            return refusal(turn, pressed=entry.pressed)
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        _ = turn._
        if not allowed(turn.contact, Role.COORDINATOR):
            return refusal(turn, pressed=False), ENDS
        assert turn.contact is not None
        provider = add_provider(
            turn.session, name=turn.data["name"], province_code=turn.data["province"],
            actor_id=turn.contact.id,
        )  # fmt: skip
        text = _(
            "Provider added: {name}. Invite its staff with the button below.",
            name=esc(provider.name),
        )
        invite = Action(
            _("Invite staff: {name}", name=shorten(provider.name)), f"{STAFF_INVITE}{provider.id}"
        )
        return outcome.say(text, [[invite]]), ENDS


# -- an enterprise ---------------------------------------------------------------------------


def sector_prompt(turn: Turn) -> Reply:
    buttons = [Action(s.label(turn.language), ENT_SECTOR + s.code) for s in content.sectors()]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return Reply(turn._("Which sector does it work in?"), rows)


def training_day(turn: Turn, given: Input) -> str:
    if given.payload == ENT_TODAY:
        return turn.today.isoformat()
    return typed(lambda text: parse_day(text, today=turn.today).isoformat())(turn, given)


def draft_of(data: dict[str, Any]) -> EnterpriseDraft:
    return EnterpriseDraft(
        name=data["name"],
        sector_code=data["sector"],
        province_code=data["province"],
        workers=data["workers"],
        intervention_date=date.fromisoformat(data["date"]),
    )


def enterprise_card(_: Translate, d: EnterpriseDraft, language: str) -> str:
    sector = content.sector(d.sector_code)
    province = content.province(d.province_code)
    assert sector is not None and province is not None
    return "\n".join(
        [
            _("Name: {value}", value=esc(d.name)),
            _("Sector: {value}", value=sector.name(language)),
            _("Province: {value}", value=province.name(language)),
            _("Workers: {value}", value=format_number(d.workers, language)),
            _("Training date: {value}", value=format_day(d.intervention_date, language)),
        ]
    )


def check_prompt(turn: Turn) -> Reply:
    _ = turn._
    card = enterprise_card(_, draft_of(turn.data), turn.language)
    actions = [[Action(_("✅ Save"), ENT_CONFIRM), Action(_("✖ Cancel"), ENT_CANCEL)]]
    return Reply(_("<b>Please check the new enterprise</b>") + "\n" + card, actions)


class NewEnterprise(Form):
    name = "admin.enterprise"
    steps = (
        Step("name", lambda turn: Reply(
            turn._("Let us add an enterprise. What is its name? (/cancel to stop)")),
            typed(clean_name)),
        Step("sector", sector_prompt,
             choice(ENT_SECTOR, lambda code: content.sector(code) is not None,
                    wrong="unknown_sector"),
             reask="prompt"),
        province_step(N_("In which province or city is it? Choose below or type the name."),
                      ENT_PROVINCE),
        Step("workers", lambda turn: Reply(turn._("How many workers does it have?")),
             typed(parse_workers)),
        Step("date", lambda turn: Reply(
            turn._("When was the training or intervention? Type the date as day/month/year."),
            [[Action(turn._("Today"), ENT_TODAY)]]), training_day),
        Step("confirm", check_prompt, one_of(ENT_CONFIRM, ENT_CANCEL, wrong="save_or_cancel")),
    )  # fmt: skip

    def starts(self, entry: Input) -> bool:
        return entry.command == "newenterprise"

    def owns(self, payload: str) -> bool:
        return payload.startswith((ENT_SECTOR, ENT_PROVINCE)) or payload in (
            ENT_TODAY, ENT_CONFIRM, ENT_CANCEL,
        )  # fmt: skip

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        if not allowed(turn.contact, Role.STAFF):
            return refusal(turn, pressed=entry.pressed)
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        _ = turn._
        if turn.data["confirm"] == ENT_CANCEL:
            return outcome.show(self.pause(turn).replies[0]), ENDS
        contact = turn.contact
        if not allowed(contact, Role.STAFF) or contact is None or contact.provider_id is None:
            return refusal(turn, pressed=True), ENDS
        draft = draft_of(turn.data)
        try:
            with turn.session.begin_nested():
                enterprise = add_enterprise(
                    turn.session, provider_id=contact.provider_id, draft=draft,
                    today=turn.today, actor_id=contact.id,
                )  # fmt: skip
        except ProgrammeError as error:
            return outcome.say(error_text(_, error, turn.language)), ENDS
        # The card becomes the confirmation: one call rather than two, so that with the two
        # invites that follow the bot stays within Telegram's short burst for one chat.
        saved = _("Saved: {name}. Here are its invite links.", name=esc(enterprise.name))
        outcome.edit = Reply(f"{saved}\n\n{enterprise_card(_, draft, turn.language)}")
        outcome.edit_actions_only = False
        assert enterprise.id is not None
        invites = programme.enterprise_links(
            turn.session, enterprise_id=enterprise.id, actor=contact,
            days=turn.place.invite_days, now=turn.now,
        )  # fmt: skip
        outcome.replies += invite_cards(_, turn.language, turn.place, enterprise, invites)
        return outcome, ENDS


# -- editing an enterprise ---------------------------------------------------------------------

# What staff may correct, each asked by the very step that added the enterprise.
FIELDS = {
    "name": N_("Name"),
    "sector": N_("Sector"),
    "province": N_("Province"),
    "workers": N_("Workers"),
    "date": N_("Training date"),
}


def field_prompt(turn: Turn) -> Reply:
    _ = turn._
    name = esc(turn.data.get("current", ""))
    buttons = [Action(_(label), EDIT_FIELD + code) for code, label in FIELDS.items()]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return Reply(_("What should change for {name}? (/cancel to stop)", name=name), rows)


class EditEnterprise(Form):
    """✏️ Edit on an enterprise's page: one answer at a time, checked as when it was added."""

    name = "admin.edit"
    resumable = False
    field_step = Step(
        "field", field_prompt, choice(EDIT_FIELD, lambda code: code in FIELDS), reask="actions"
    )
    new_name = Step(
        "name",
        lambda turn: Reply(turn._("What is its new name? (/cancel to stop)")),
        typed(clean_name),
    )
    steps = (field_step, new_name, *NewEnterprise.steps[1:5])

    def starts(self, entry: Input) -> bool:
        return entry.payload is not None and entry.payload.startswith(EDIT)

    def owns(self, payload: str) -> bool:
        return payload.startswith((EDIT, EDIT_FIELD, ENT_SECTOR, ENT_PROVINCE)) or (
            payload == ENT_TODAY
        )

    def pending(self, turn: Turn, steps: Iterable[Step] | None = None) -> Step | None:
        chosen = turn.data.get("field")
        if chosen is None:
            return self.field_step
        step = self.step(chosen)
        return step if step is not None and chosen not in turn.data else None

    def _enterprise(self, turn: Turn, enterprise_id: object) -> Enterprise | None:
        if not isinstance(enterprise_id, int):
            return None
        try:
            return programme.managed_enterprise(turn.session, turn.contact, enterprise_id)
        except ProgrammeError:
            return None

    def begin(self, turn: Turn, entry: Input) -> Outcome | None:
        code = (entry.payload or "").removeprefix(EDIT)
        enterprise = self._enterprise(turn, int(code) if code.isdigit() else None)
        if enterprise is None:
            return refusal(turn, pressed=entry.pressed)
        turn.data.update(current=enterprise.name, enterprise=enterprise.id)
        return None

    def finish(self, turn: Turn, outcome: Outcome) -> tuple[Outcome, bool]:
        _ = turn._
        enterprise = self._enterprise(turn, turn.data.get("enterprise"))
        if enterprise is None:
            return refusal(turn, pressed=False), ENDS
        chosen = turn.data["field"]
        value = turn.data[chosen]
        try:
            with turn.session.begin_nested():
                programme.edit_enterprise(
                    turn.session, enterprise, chosen, value, today=turn.today,
                    actor_id=turn.contact.id if turn.contact else None,
                )  # fmt: skip
        except ProgrammeError as error:
            return outcome.say(error_text(_, error, turn.language)), ENDS
        draft = draft_of(
            {"name": enterprise.name, "sector": enterprise.sector_code,
             "province": enterprise.province_code, "workers": enterprise.workers,
             "date": enterprise.intervention_date.isoformat()}
        )  # fmt: skip
        saved = _("Saved. {name} now reads:", name=esc(enterprise.name))
        page = Action(_("🏭 Open its page"), f"{ENTERPRISE_PAGE}{enterprise.id}")
        return outcome.say(f"{saved}\n{enterprise_card(_, draft, turn.language)}", [[page]]), ENDS


def refusal(turn: Turn, *, pressed: bool) -> Outcome:
    """Someone without the role (or who lost it mid-way): a dialog on a button, else a reply."""
    text = error_text(turn._, ProgrammeError("staff_only"), turn.language)
    return Outcome(notice=text, alert=True) if pressed else Outcome().say(text)


# -- invite links ----------------------------------------------------------------------------


def code_line(_: Translate, invite: Invite, zalo_chat_url: str | None = None) -> str:
    """The short code beside every link, for people who type it instead; with the bot's Zalo
    chat link (OSHBOT_ZALO_CHAT_URL), where to type it on Zalo."""
    line = _("Code to type: <b>{code}</b>", code=format_short_code(invite.short_code))
    if zalo_chat_url:
        line += "\n" + _(
            "On Zalo: open {link} (or scan its QR code) and type the code.", link=zalo_chat_url
        )
    return line


def invite_cards(
    _: Translate,
    language: str,
    place: Place,
    enterprise: Enterprise,
    invites: dict[Role, Invite],
) -> list[Reply]:
    """The links card: one QR photo per role (Telegram's link, and the bot's Zalo chat with the
    code printed beside it when OSHBOT_ZALO_CHAT_URL is set), its short code and how many
    joined."""
    name = enterprise.name
    until = format_day(invites[Role.EMPLOYER].expires_at.astimezone(place.tz).date(), language)
    cards = []
    for role, invite in invites.items():
        link = place.invite_link(invite.code)
        if role == Role.EMPLOYER:
            caption = _(
                "Employer link for {enterprise} (valid until {until}):\n{link}",
                enterprise=esc(name), until=until, link=link,
            )  # fmt: skip
        else:
            caption = _(
                "Worker link for {enterprise} (valid until {until}); "
                "several workers can use it:\n{link}",
                enterprise=esc(name), until=until, link=link,
            )  # fmt: skip
        joined = _(
            "Joined so far: {uses} of {limit}.",
            uses=format_number(invite.uses, language),
            limit=format_number(invite.max_uses or 0, language),
        )
        actions: list[list[Action]] = []
        if role == Role.WORKER:
            actions = [
                [Action(_("👥 Members"), f"{MEMBERS}{enterprise.id}")],
                [Action(_("🔁 New links"), f"{NEW_LINKS}{enterprise.id}")],
            ]
        cards.append(
            Reply(
                f"{caption}\n{code_line(_, invite, place.zalo_chat_url)}\n{joined}",
                actions,
                photo=invite_qr_png(
                    link, place.zalo_chat_url, format_short_code(invite.short_code)
                ),
                photo_name="invite.png",
            )
        )
    return cards


NEW_PROVIDER = NewProvider()
NEW_ENTERPRISE = NewEnterprise()
EDIT_ENTERPRISE = EditEnterprise()
