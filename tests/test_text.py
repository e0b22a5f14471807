"""Cutting Telegram HTML: never inside a tag or an entity, lengths as Telegram counts them (UTF-16
code units after parsing), and the texts that used to be cut with a slice reach people."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from bot.sandbox import render_plain
from models import broadcasts
from models.goodpractice import Entry
from models.notices.cards import card
from models.outbox import Message, enqueue
from models.programme import ProgrammeError, add_provider
from models.tables import Outbox, Role
from models.text import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    esc,
    truncate_html,
    utf16_len,
    visible_len,
)
from scheduler.jobs import monthly_digest_job
from tests.conftest import START, World
from tests.factories import add_person

EMOJI = "🦺"  # outside the BMP: one Python character, two UTF-16 code units


def telegram_length(markup: str) -> int:
    """What Telegram counts, after the sandbox (which parses like Telegram) accepted the HTML."""
    return utf16_len(render_plain(markup, "HTML"))


def test_lengths_are_counted_as_telegram_does() -> None:
    assert utf16_len(EMOJI * 3) == 6
    assert visible_len("<b>a &amp; b</b> 🦺") == len("a & b ") + 2


@pytest.mark.parametrize("limit", [5, 17, 40, 41, 42, 43, 60, 70, 75])
def test_a_cut_is_never_inside_a_tag_or_an_entity(limit: int) -> None:
    markup = (
        "<b>Trung tâm &amp; Công ty</b> <i>an toàn 🦺🦺 lao động</i> "
        '<a href="https://example.org/?a=1&amp;b=2">liên kết</a> &lt;không phải thẻ&gt; kết thúc'
    )
    cut = truncate_html(markup, limit)
    assert telegram_length(cut) <= limit  # parses: tags balanced, entities whole
    assert cut.endswith("…") or cut.endswith(">")
    plain = render_plain(cut, "HTML")
    full = render_plain(markup, "HTML")
    assert full.startswith(plain.removesuffix("…").rstrip())


def test_the_cut_falls_at_a_word_boundary() -> None:
    cut = truncate_html("<b>an toàn lao động</b> cho mọi người", 12)
    assert render_plain(cut, "HTML") == "an toàn lao…"
    assert cut == "<b>an toàn lao…</b>"


def test_text_that_fits_is_left_alone() -> None:
    markup = "<b>ngắn</b> &amp; gọn"
    assert truncate_html(markup, 10) is markup


def test_emoji_heavy_text_is_cut_to_utf16_units() -> None:
    cut = truncate_html(esc(EMOJI * 700), CAPTION_LIMIT)
    assert utf16_len(render_plain(cut, "HTML")) <= CAPTION_LIMIT
    assert cut.count(EMOJI) == (CAPTION_LIMIT - 1) // 2


def entry(text: str) -> Entry:
    return Entry(
        id=1, area_code="ppe", text=text, original=text, edited=False, photo_before_path=None,
        photo_after_path=None, cost_vnd=2_500_000, workers_benefiting=40, risk_before=12,
        risk_after=4, province_code="da-nang", sector_code="wood",
        enterprise_name="Xưởng gỗ <Hòa> & Khánh", provider_id=1, reviewed_at=START,
    )  # fmt: skip


async def test_an_emoji_heavy_good_practice_card_reaches_people_as_a_photo_caption(
    world: World, tmp_path: Path
) -> None:
    photo = tmp_path / "after.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 0)).save(buffer, format="PNG")
    photo.write_bytes(buffer.getvalue())
    worker = add_person(world, 4101, Role.WORKER)
    text = ("🦺🧤🥽 " + EMOJI * 9 + " ") * 50
    caption = card(entry(text), "vi")
    assert telegram_length(caption) <= CAPTION_LIMIT
    with world.database.session() as session:
        enqueue(session, key="gp:4101", contact=worker, kind="broadcast",
                message=Message(caption, photo_path=str(photo)))  # fmt: skip
    report = await world.drain()
    assert (report.sent, report.failed) == (1, 0), report.errors
    [received] = [m for m in world.sandbox.users[4101].messages() if m.method == "sendPhoto"]
    assert received.plain.startswith("🌟") and "Xưởng gỗ <Hòa> & Khánh" in received.plain
    assert "…" in received.plain  # the description was shortened, the facts kept


def test_a_broadcast_caption_is_measured_as_telegram_does() -> None:
    with pytest.raises(ProgrammeError) as raised:
        broadcasts.clean_text(EMOJI * 600 + " hội thảo", with_photo=True)
    assert raised.value.code == "text_too_long"
    assert raised.value.details["length"] == 1209
    assert broadcasts.clean_text(EMOJI * 400, with_photo=True) == EMOJI * 400


@pytest.mark.parametrize("name_length", [23, 37, 48, 61, 75, 83, 90, 97, 104])
async def test_the_monthly_digest_for_45_providers_reaches_the_coordinator(
    world: World, name_length: int
) -> None:
    coordinator = add_person(world, 4201, Role.COORDINATOR)
    with world.database.session() as session:
        for number in range(45):
            stem = f"Trung tâm {number:02d} An toàn & Vệ sinh lao động <miền Trung> "
            add_provider(session, name=(stem * 3)[:name_length])
    with world.database.session() as session:
        monthly_digest_job(session, START)
        text = session.exec(
            select(Outbox.payload).where(Outbox.contact_id == coordinator.id)
        ).one()["text"]
    assert telegram_length(text) <= MESSAGE_LIMIT
    report = await world.drain()
    assert (report.sent, report.failed) == (1, 0), report.errors
    received = world.sandbox.users[4201].messages()[-1].plain
    assert "🗞" in received and "<b>" not in received
    # The cut closed what it opened and ended on a whole word, with the ellipsis.
    if visible_len(text) > MESSAGE_LIMIT - 200:
        assert received.endswith("…")
