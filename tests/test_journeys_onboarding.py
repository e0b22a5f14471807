"""Registration as a journey (models/journeys/onboarding.py): its place in the database, not in
a process, so two processes can serve one registration; it stays in front until it ends; and
someone who does not finish it leaves nothing behind."""

from __future__ import annotations

from sqlmodel import select

from models.journeys.state import telegram_person
from models.tables import BotState, Consent, JourneyState, Role
from tests.conftest import World
from tests.factories import contact, make_enterprise, make_invite, make_provider, two_processes

PAUSED_VI = "Tôi đã dừng việc đang làm dở"
REPROMPT = "Please choose a language with the buttons."


def employer_code(world: World) -> str:
    return make_invite(
        world, Role.EMPLOYER, enterprise_id=make_enterprise(world, make_provider(world))
    )


def position(world: World, user_id: int) -> JourneyState | None:
    with world.database.session() as session:
        return session.get(JourneyState, telegram_person(user_id))


async def test_two_processes_taking_turns_register_one_person(world: World) -> None:
    """Two Applications on one database deal the updates alternately: what one process asked,
    the other takes the answer to, wrong kinds of message included."""
    code = employer_code(world)
    person = world.user(2101, "Chị Hạnh", language_code="en")
    async with two_processes(world):
        prompt = await person.say(f"/start {code}")  # B
        assert prompt is not None and "Which language" in prompt.plain
        reply = await person.say("hello")  # A: no language chosen yet, so both languages
        assert reply is not None and REPROMPT in reply.plain
        consent = await person.press("English")  # B
        assert consent is not None and "Before we start" in consent.plain
        assert "Language: English" in person.texts()
        reply = await person.send("sticker")  # A knows the language B was told
        assert reply is not None and "Please answer with the buttons: do you agree?" in reply.plain
        welcome = await person.press("I agree, but no tips")  # B
        assert welcome is not None and "Welcome, Xưởng mộc Hòa Phát!" in welcome.plain
    stored = contact(world, 2101)
    assert stored is not None
    assert (stored.role, stored.language, stored.display_name) == (Role.EMPLOYER, "en", "Chị Hạnh")
    with world.database.session() as session:
        purposes = session.exec(
            select(Consent.purpose).where(Consent.contact_id == stored.id)
        ).all()
    assert purposes == ["followup"]
    assert "❓ Help" in str(person.account.reply_keyboard())
    commands = {c["command"]: c["description"] for c in world.sandbox.commands("chat:2101")}
    assert commands["help"] == "What I can do for you"


async def test_a_restart_between_language_and_consent_loses_nothing(world: World) -> None:
    person = world.user(2201)
    await person.say(f"/start {employer_code(world)}")
    await person.press("Tiếng Việt")
    await world.restart()
    reply = await person.send("voice")
    assert reply is not None and "Anh/Chị có đồng ý không?" in reply.plain
    welcome = await person.press("Tôi đồng ý")
    assert welcome is not None and "Chào mừng Xưởng mộc Hòa Phát" in welcome.plain
    stored = contact(world, 2201)
    assert stored is not None and stored.language == "vi"


async def test_cancel_keeps_nothing_and_its_buttons_go_stale(world: World) -> None:
    person = world.user(2301)
    await person.say(f"/start {employer_code(world)}")
    await person.press("English")
    consent = person.account.messages()[-1]
    reply = await person.say("/cancel")
    assert reply is not None and reply.plain == "Cancelled."
    assert position(world, 2301) is None
    await person.press_data(consent.message_id, "onb:agree")
    assert person.answers()[-1] == "Nút này không còn hiệu lực."  # the chosen language went too
    assert contact(world, 2301) is None
    await world.application.update_persistence()
    with world.database.session() as session:
        assert session.exec(select(BotState).where(BotState.key.contains("2301"))).all() == []


async def test_declining_or_a_dead_code_leaves_no_position(world: World) -> None:
    person = world.user(2401)
    await person.say(f"/start {employer_code(world)}")
    await person.press("Tiếng Việt")
    assert position(world, 2401) is not None
    await person.press("Không, cảm ơn")
    assert position(world, 2401) is None
    stranger = world.user(2402)
    reply = await stranger.say("/start nosuchcode12345")
    assert reply is not None and "không còn hiệu lực" in reply.plain
    assert position(world, 2402) is None


async def test_stale_buttons_during_registration_change_nothing(world: World) -> None:
    person = world.user(2501)
    await person.say(f"/start {employer_code(world)}")
    language = person.account.messages()[-1]
    await person.press("English")
    # The language buttons again, during the consent: a short answer, the consent still asked.
    await person.press_data(language.message_id, "onb:lang:vi")
    assert person.answers()[-1] == "This button is no longer active."
    await person.press_data(language.message_id, "onb:nothing-like-this")
    assert person.answers()[-1] == "This button is no longer active."
    state = position(world, 2501)
    assert state is not None and state.data["language"] == "en" and state.data["step"] == "consent"
    welcome = await person.press("I agree")
    assert welcome is not None and "Welcome" in welcome.plain
    stored = contact(world, 2501)
    assert stored is not None and stored.language == "en"


async def test_wrong_kinds_of_message_ask_again_in_the_right_language(world: World) -> None:
    person = world.user(2601)
    await person.say(f"/start {employer_code(world)}")
    for kind, args in (
        ("text", ("Tiếng Việt",)),
        ("photo", (b"\xff\xd8jpeg",)),
        ("location", (16.0, 108.2)),
    ):
        reply = await person.send(kind, *args)
        assert reply is not None and REPROMPT in reply.plain
        assert [label for label, _ in person.account.buttons(reply)] == ["Tiếng Việt", "English"]
    await person.press("English")
    for kind, args in (("text", ("yes",)), ("document", (b"%PDF", "plan.pdf"))):
        reply = await person.send(kind, *args)
        assert reply is not None and "Please answer with the buttons" in reply.plain
        assert "I agree" in str(person.account.buttons(reply))
    await person.press("I agree")
    assert contact(world, 2601) is not None


async def test_registration_stays_in_front_of_other_commands(world: World) -> None:
    """Nothing else is open to someone registering: other commands are answered beside it (in
    the language they chose), and the consent still waits."""
    person = world.user(2701)
    await person.say(f"/start {employer_code(world)}")
    await person.press("English")
    for command in ("/feedback", "/report", "/myreports", "/help"):
        await person.say(command)
    assert not any(PAUSED_VI in text or "I stopped" in text for text in person.texts())
    assert "join" in person.last_text()  # /help, in English, for someone not registered
    state = position(world, 2701)
    assert state is not None and state.journey == "onboarding"
    welcome = await person.press("I agree")
    assert welcome is not None and "Welcome" in welcome.plain


async def test_a_typed_code_registers_across_a_restart(world: World) -> None:
    provider = make_provider(world)
    enterprise = make_enterprise(world, provider)
    make_invite(world, Role.WORKER, enterprise_id=enterprise)
    with world.database.session() as session:
        from models.tables import Invite

        short = session.exec(select(Invite.short_code)).one()
    person = world.user(2801)
    prompt = await person.say(f"{short[:5]} {short[5:]}")
    assert prompt is not None and "ngôn ngữ" in prompt.plain
    assert [data for _, data in person.account.buttons(prompt)] == ["onb:tlang:vi", "onb:tlang:en"]
    await world.restart()
    await person.press("Tiếng Việt")
    welcome = await person.press("Tôi đồng ý")
    assert welcome is not None and "Xưởng mộc Hòa Phát" in welcome.plain
    stored = contact(world, 2801)
    assert stored is not None and stored.role == Role.WORKER
