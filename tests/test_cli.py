"""The `oshbot` command line, run in-process against a test database."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from sqlmodel import select

from bot.cli import app
from models.db import Database
from models.programme import EnterpriseDraft, add_enterprise, add_provider
from models.tables import AuditLog, Contact, Enterprise, Invite, Provider, Role
from tests.factories import oshbot


def test_invites_print_a_deep_link_and_write_a_qr_code(database: Database, tmp_path: Path) -> None:
    result = oshbot(database, tmp_path, "invite", "coordinator", "--out", str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    code = re.search(r"https://t\.me/osh_followup_bot\?start=([\w-]+)", result.output)
    assert code is not None
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    with database.session() as session:
        invite = session.exec(select(Invite).where(Invite.code == code.group(1))).one()
        assert invite.role == Role.COORDINATOR and invite.max_uses == 1
    missing = oshbot(database, tmp_path, "invite", "staff")
    assert missing.exit_code == 1 and "--provider" in missing.output


def test_providers_and_enterprise_import(database: Database, tmp_path: Path) -> None:
    added = oshbot(
        database, tmp_path, "provider", "add", "Trung tâm ATVSLĐ Huế", "--province", "hue"
    )
    assert added.exit_code == 0 and "Trung tâm ATVSLĐ Huế" in added.output
    listed = oshbot(database, tmp_path, "provider", "list")
    assert listed.output.split() == ["1", "Trung", "tâm", "ATVSLĐ", "Huế", "hue", "—"]
    # The data controller's contact in the consent card (Law 91/2025).
    changed = oshbot(database, tmp_path, "provider", "contact", "1", "--phone", "0234 382 2222",
                     "--email", "atvsld@hue.gov.vn")  # fmt: skip
    assert changed.exit_code == 0, changed.output
    listed = oshbot(database, tmp_path, "provider", "list")
    assert " ".join(listed.output.split()).endswith("hue 0234 382 2222 · atvsld@hue.gov.vn")
    assert oshbot(database, tmp_path, "provider", "contact", "9", "--phone", "1").exit_code == 1
    sheet = tmp_path / "enterprises.csv"
    sheet.write_text(
        "tên,ngành,tỉnh,số lao động,ngày tập huấn\n"
        "Xưởng gỗ An Phú,wood,Huế,12,01/02/2026\n"
        "Xưởng sai,xyz,Huế,5,01/02/2026\n",
        encoding="utf-8",
    )
    with database.session() as session:
        provider_id = session.exec(select(Provider.id)).one()
    result = oshbot(
        database, tmp_path, "import", "enterprises", str(sheet), "--provider", str(provider_id)
    )
    assert result.exit_code == 1
    # Sentences in the default language (Vietnamese), with the line number.
    assert "Đã nhập 1 doanh nghiệp." in result.output
    assert "1 dòng không được nhập:" in result.output
    assert "Dòng 3: ngành “xyz” không có trong danh sách." in result.output
    assert "unknown_sector" not in result.output
    with database.session() as session:
        assert [e.name for e in session.exec(select(Enterprise))] == ["Xưởng gỗ An Phú"]
    # A file that is no text at all, in English when asked.
    (tmp_path / "photo.csv").write_bytes(bytes(range(256)) * 20)
    refused = oshbot(database, tmp_path, "import", "enterprises", str(tmp_path / "photo.csv"),
                     "--provider", str(provider_id), "--language", "en")  # fmt: skip
    assert refused.exit_code == 1
    assert "The file could not be read as text." in " ".join(refused.output.split())
    assert "import_unreadable" not in refused.output


def test_privacy_export_and_erase_for_requests_outside_telegram(
    database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        provider = add_provider(session, name="Trung tâm Đà Nẵng")
        draft = EnterpriseDraft("Xưởng mộc", "wood", "da-nang", 9, date(2026, 1, 5))
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=draft.intervention_date
        )
        person = Contact(
            telegram_user_id=77,
            chat_id=77,
            display_name="Chị Lan",
            role=Role.EMPLOYER,
            enterprise_id=enterprise.id,
        )
        session.add(person)
        session.flush()
        contact_id = person.id
    out = tmp_path / "lan.json"
    exported = oshbot(
        database, tmp_path, "privacy", "export", "--contact", str(contact_id), "--out", str(out)
    )
    assert exported.exit_code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["contact"]["name"] == "Chị Lan"
    refused = oshbot(
        database, tmp_path, "privacy", "erase", "--contact", str(contact_id), stdin="n\n"
    )
    assert refused.exit_code == 1
    erased = oshbot(database, tmp_path, "privacy", "erase", "--contact", str(contact_id), "--yes")
    assert erased.exit_code == 0
    with database.session() as session:
        gone = session.get(Contact, contact_id)
        assert gone is not None and gone.telegram_user_id is None and gone.display_name is None
    again = oshbot(database, tmp_path, "privacy", "export", "--contact", str(contact_id))
    assert again.exit_code == 1 and "erased already" in again.output


def test_db_upgrade_and_status(database: Database, tmp_path: Path) -> None:
    assert "already up to date" in oshbot(database, tmp_path, "db", "upgrade").output
    status = oshbot(database, tmp_path, "status")
    assert "providers: 0" in status.output and "contacts_worker: 0" in status.output


def test_a_crash_never_prints_the_token(tmp_path: Path) -> None:
    """Typer's pretty tracebacks can list every local variable, the settings (and so the bot
    token) among them; the app turns that off, and a crash shows the error without it."""
    import os
    import subprocess
    import sys

    assert app.pretty_exceptions_show_locals is False
    secret = "123456:SECRET-TOKEN-NEVER-PRINTED"
    env = {**os.environ, "OSHBOT_TOKEN": secret, "OSHBOT_DATABASE_URL": "nosuchdb://x/y",
           "COLUMNS": "200", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}  # fmt: skip
    env.pop("_TYPER_STANDARD_TRACEBACK", None)
    crashed = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert crashed.returncode != 0
    assert "nosuchdb" in crashed.stderr  # the error itself is shown
    assert "SECRET-TOKEN" not in crashed.stdout + crashed.stderr


def test_invites_are_contained_from_the_command_line(database: Database, tmp_path: Path) -> None:
    """An operator ends a leaked link by its code or by enterprise and role, lists the live
    ones, and removes a person; every link shows its short code and joiner limit, and no QR
    file carries a live code in its name."""
    from datetime import UTC, datetime

    from models.programme import register

    with database.session() as session:
        provider = add_provider(session, name="Trung tâm Đà Nẵng")
        draft = EnterpriseDraft("Xưởng mộc", "wood", "da-nang", 10, date(2026, 1, 5))
        enterprise = add_enterprise(
            session, provider_id=provider.id, draft=draft, today=draft.intervention_date
        ).id
    first = oshbot(database, tmp_path, "invite", "worker", "--enterprise", str(enterprise))
    assert first.exit_code == 0, first.output
    assert re.search(r"code to type: [A-Z0-9]{5}-[A-Z0-9]{5}  joined: 0 of 14", first.output)
    code = re.search(r"start=([\w-]+)", first.output).group(1)  # type: ignore[union-attr]
    files = list((tmp_path / "data" / "invites").iterdir())
    assert files and all(code not in path.name for path in files)

    second = oshbot(
        database, tmp_path, "invite", "worker", "--enterprise", str(enterprise), "--limit", "5"
    )
    assert "joined: 0 of 5" in second.output
    assert "The enterprise's older worker link no longer works." in second.output
    short = re.search(r"code to type: (\S+)", second.output).group(1)  # type: ignore[union-attr]
    listed = oshbot(database, tmp_path, "invite", "list", "--enterprise", str(enterprise))
    assert short in listed.output and "0/5" in listed.output and code not in listed.output

    ended = oshbot(database, tmp_path, "invite", "revoke", short.lower())
    assert ended.output.strip() == "Ended 1 link."
    assert oshbot(database, tmp_path, "invite", "list").output.strip() == ""
    oshbot(database, tmp_path, "invite", "employer", "--enterprise", str(enterprise))
    by_role = oshbot(
        database,
        tmp_path,
        "invite",
        "revoke",
        "--enterprise",
        str(enterprise),
        "--role",
        "employer",
    )
    assert by_role.output.strip() == "Ended 1 link."
    assert oshbot(database, tmp_path, "invite", "revoke", "nothing-like-it").exit_code == 1
    assert oshbot(database, tmp_path, "invite", "revoke").exit_code == 1

    third = oshbot(database, tmp_path, "invite", "worker", "--enterprise", str(enterprise))
    live = re.search(r"start=([\w-]+)", third.output).group(1)  # type: ignore[union-attr]
    with database.session() as session:
        joined = register(
            session, code=live, telegram_user_id=55, chat_id=55, display_name="Anh Tư",
            username=None, language="vi", now=datetime.now(UTC),
        ).contact  # fmt: skip
        assert joined is not None
        person = joined.id
    members = oshbot(database, tmp_path, "members", "list", "--enterprise", str(enterprise))
    assert members.output.split()[:5] == [str(person), "worker", "Anh", "Tư", "joined"]
    assert oshbot(database, tmp_path, "members", "remove", str(person), stdin="n\n").exit_code == 1
    removed = oshbot(database, tmp_path, "members", "remove", str(person), "--yes")
    assert removed.exit_code == 0 and "removed" in removed.output
    assert (
        oshbot(database, tmp_path, "members", "list", "--enterprise", str(enterprise)).output == ""
    )
    again = oshbot(database, tmp_path, "members", "remove", str(person), "--yes")
    assert again.exit_code == 1 and "not a member" in again.output
    with database.session() as session:
        actions = [a.action for a in session.exec(select(AuditLog))]
    assert actions.count("invite.revoke") == 3 and "contact.remove" in actions
