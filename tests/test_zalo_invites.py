"""Invites for both channels: the Telegram link and the code to type on Zalo side by side, and,
with the bot's Zalo chat link (OSHBOT_ZALO_CHAT_URL), a QR code that opens that chat with the
code printed beside it."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from bot.i18n import translator
from bot.settings import Settings
from models.db import Database
from models.journeys.admin import invite_cards
from models.journeys.core import Place
from models.media import invite_qr_png, qr_png
from models.programme import (
    EnterpriseDraft,
    add_enterprise,
    add_provider,
    create_invite,
    deep_link,
    format_short_code,
)
from models.tables import Role
from tests.factories import oshbot

CHAT = "https://zalo.me/2318519403617480960"
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as picture:
        return picture.size


def cards(database: Database, chat: str | None) -> tuple[list[str], list[bytes], list[str]]:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Huế", province_code="hue")
        draft = EnterpriseDraft("Xưởng gỗ An Phú", "wood", "hue", 12, date(2026, 10, 1))
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=date(2027, 3, 1)
        )  # type: ignore[arg-type]
        invites = {
            role: create_invite(session, role=role, days=14, enterprise_id=enterprise.id, now=NOW)
            for role in (Role.EMPLOYER, Role.WORKER)
        }
        place = Place(invite_link=lambda code: deep_link("osh_bot", code), zalo_chat_url=chat)
        replies = invite_cards(translator("vi"), "vi", place, enterprise, invites)
        codes = [format_short_code(invites[role].short_code) for role in invites]
    return [r.text for r in replies], [r.photo or b"" for r in replies], codes


def test_invite_cards_show_the_link_and_the_zalo_code_side_by_side(database: Database) -> None:
    texts, photos, codes = cards(database, None)
    for text, photo, code in zip(texts, photos, codes, strict=True):
        assert "https://t.me/osh_bot?start=" in text and f"Mã cần nhập: <b>{code}</b>" in text
        assert "Trên Zalo" not in text
        width, height = size(photo)
        assert width == height  # the Telegram link's QR code alone, as before


def test_with_the_zalo_chat_link_the_qr_code_opens_zalo_beside_telegram(
    database: Database,
) -> None:
    texts, photos, codes = cards(database, CHAT)
    for text, photo, code in zip(texts, photos, codes, strict=True):
        assert "https://t.me/osh_bot?start=" in text and f"Mã cần nhập: <b>{code}</b>" in text
        assert f"Trên Zalo: mở {CHAT} (hoặc quét mã QR của nó) rồi nhập mã này." in text
        width, height = size(photo)
        assert width > 1.5 * height  # two QR codes side by side, names and code under them
    # Without a Telegram link (a bot on Zalo alone) the Zalo chat's QR code stands alone.
    alone = size(invite_qr_png("AbCdEf123", CHAT, "K7QXM-4RTWA"))
    assert alone[0] == size(qr_png(CHAT))[0] and alone[1] > alone[0]


def test_the_zalo_chat_link_must_be_https() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, zalo_chat_url="http://zalo.me/1")  # type: ignore[call-arg]
    assert Settings(_env_file=None, zalo_chat_url=" ").zalo_chat_url is None  # type: ignore[call-arg]


def test_oshbot_invite_prints_where_to_type_the_code_on_zalo(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm ATVSLĐ Huế", province_code="hue").id
    monkeypatch.setenv("OSHBOT_ZALO_CHAT_URL", CHAT)
    out = tmp_path / "staff.png"
    result = oshbot(
        database, tmp_path, "invite", "staff", "--provider", str(provider), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    found = re.search(r"on Zalo: open (\S+) and type ([A-Z0-9]{5}-[A-Z0-9]{5})", result.output)
    assert found is not None and found.group(1) == CHAT
    assert f"code to type: {found.group(2)}" in result.output
    width, height = size(out.read_bytes())
    assert width > 1.5 * height
