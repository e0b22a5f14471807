"""The `oshbot` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from bot.render import qr_png
from bot.settings import Settings
from models.db import Database, upgrade
from models.programme import ProgrammeError, create_invite, deep_link
from models.tables import Role

app = typer.Typer(help="oshbot: follow-up of OSH support programmes for SMEs, in Telegram.")
db_app = typer.Typer(help="Database schema.")
import_app = typer.Typer(help="Bulk imports.")
provider_app = typer.Typer(help="OSH service providers.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(provider_app, name="provider")
console = Console()
err = Console(stderr=True)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        err.print(f"[red]Invalid setting OSHBOT_{str(first['loc'][0]).upper()}: {first['msg']}[/]")
        raise typer.Exit(2) from error


def fail(message: str) -> typer.Exit:
    err.print(f"[red]{message}[/]")
    return typer.Exit(1)


def setup_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # httpx logs every request URL, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def run() -> None:
    """Run the bot with long polling."""
    from bot.app import build_application

    config = settings()
    if not config.token:
        raise fail("OSHBOT_TOKEN is not set: get a token from @BotFather and set it.")
    setup_logging(config.log_level)
    application = build_application(config)
    application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])


@app.command()
def webhook() -> None:
    """Run the bot behind an HTTPS webhook (OSHBOT_WEBHOOK_URL, OSHBOT_WEBHOOK_SECRET)."""
    from bot.app import build_application

    config = settings()
    if not config.token:
        raise fail("OSHBOT_TOKEN is not set: get a token from @BotFather and set it.")
    if not config.webhook_url or not config.webhook_secret:
        raise fail("Webhook mode needs OSHBOT_WEBHOOK_URL and OSHBOT_WEBHOOK_SECRET.")
    setup_logging(config.log_level)
    application = build_application(config)
    application.run_webhook(
        listen=config.webhook_listen,
        port=config.webhook_port,
        webhook_url=config.webhook_url,
        secret_token=config.webhook_secret,
        allowed_updates=["message", "callback_query", "my_chat_member"],
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations that the database does not have yet."""
    config = settings()
    database = Database(config.database_url, migrate=False)
    changed = upgrade(database.engine)
    console.print("Database upgraded." if changed else "Database already up to date.")


class InviteRole(StrEnum):
    coordinator = "coordinator"
    staff = "staff"
    partner = "partner"
    employer = "employer"
    worker = "worker"


def resolve_bot_username(config: Settings) -> str:
    """OSHBOT_BOT_USERNAME, or the username the Bot API reports for the token."""
    if config.bot_username:
        return config.bot_username.removeprefix("@")
    if not config.token:
        raise fail("Set OSHBOT_BOT_USERNAME (or OSHBOT_TOKEN, to ask Telegram) to make links.")
    from telegram import Bot
    from telegram.error import TelegramError

    async def ask() -> str:
        async with Bot(config.token, base_url=config.api_base_url) as bot:  # type: ignore[arg-type]
            return bot.username

    try:
        return asyncio.run(ask())
    except TelegramError as error:
        raise fail(f"Could not ask the Bot API for the bot's username: {error}") from error


@app.command()
def invite(
    role: Annotated[InviteRole, typer.Argument(help="Who the link is for.")],
    provider: Annotated[int | None, typer.Option(help="Provider id (staff, partner).")] = None,
    enterprise: Annotated[
        int | None, typer.Option(help="Enterprise id (employer, worker).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the QR code PNG.")] = None,
) -> None:
    """Print an invite deep link and write its QR code as PNG."""
    config = settings()
    if role in (InviteRole.staff, InviteRole.partner) and provider is None:
        raise fail(f"`oshbot invite {role}` needs --provider ID.")
    if role in (InviteRole.employer, InviteRole.worker) and enterprise is None:
        raise fail(f"`oshbot invite {role}` needs --enterprise ID.")
    username = resolve_bot_username(config)
    database = Database(config.database_url)
    try:
        with database.session() as session:
            created = create_invite(
                session,
                role=Role(role.value),
                days=config.invite_days,
                provider_id=provider,
                enterprise_id=enterprise,
            )
    except ProgrammeError as error:
        raise fail(f"Cannot create the invite: {error.code}") from error
    link = deep_link(username, created.code)
    target = out or config.data_dir / "invites" / f"{role}-{created.code}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(qr_png(link))
    console.print(link, soft_wrap=True)
    console.print(f"QR code: {target}  (valid until {created.expires_at:%Y-%m-%d %H:%M} UTC)")


@provider_app.command("add")
def provider_add(
    name: Annotated[str, typer.Argument(help="The provider's name.")],
    province: Annotated[str | None, typer.Option(help="Province code or name.")] = None,
) -> None:
    """Add an OSH service provider (coordinators can also do this in Telegram)."""
    from models import content
    from models.programme import add_provider

    config = settings()
    code = None
    if province is not None:
        found = content.find_province(province)
        if found is None:
            raise fail(f"Unknown province: {province}")
        code = found.code
    with Database(config.database_url).session() as session:
        try:
            created = add_provider(session, name=name, province_code=code)
        except ProgrammeError as error:
            raise fail(f"Cannot add the provider: {error.code}") from error
    console.print(f"Provider {created.id}: {created.name}")


@provider_app.command("list")
def provider_list() -> None:
    """List the providers with their ids."""
    from models.programme import providers

    with Database(settings().database_url).session() as session:
        for row in providers(session):
            console.print(f"{row.id}\t{row.name}\t{row.province_code or ''}")


@import_app.command("enterprises")
def import_enterprises_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file.")],
    provider: Annotated[int, typer.Option(help="Provider the enterprises belong to.")],
) -> None:
    """Add enterprises in bulk; rows with errors are reported by line, the rest imported."""
    from models.imports import import_enterprises

    config = settings()
    database = Database(config.database_url)
    today = datetime.now(config.tz).date()
    try:
        with database.session() as session:
            report = import_enterprises(session, path, provider_id=provider, today=today)
    except ProgrammeError as error:
        raise fail(f"Cannot import {path}: {error.code} {error.details or ''}") from error
    for row_error in report.errors:
        column = row_error.details.get("column", "")
        value = row_error.details.get("value", "")
        err.print(f"line {row_error.line}: {row_error.code} ({column} = {value!r})", markup=False)
    console.print(
        f"Imported {len(report.created)} enterprises; {len(report.errors)} rows with errors."
    )
    if report.errors:
        raise typer.Exit(1)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
) -> None:
    """Serve the local Bot API sandbox over HTTP (point OSHBOT_API_BASE_URL at it)."""
    from bot.sandbox import serve_forever

    config = settings()
    setup_logging(config.log_level)
    serve_forever(
        host=host,
        port=port,
        token=config.token or "123456:SANDBOX-TOKEN",
        bot_username=config.bot_username or "oshbot_sandbox_bot",
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's database and files.")] = Path(
        "demo-output"
    ),
) -> None:
    """Play a small programme through the sandbox and write a transcript and a summary."""
    from bot.demo import run_demo

    result = asyncio.run(run_demo(out))
    console.print(result.summary_text)
    console.print(f"\nTranscript: {result.transcript_path}\nSummary: {result.summary_path}")


@app.command()
def status() -> None:
    """How many providers, enterprises, invites and contacts the database holds."""
    from models.programme import counts

    config = settings()
    with Database(config.database_url).session() as session:
        for key, value in counts(session).items():
            console.print(f"{key}: {value}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
