"""The `oshbot` command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlmodel import Session, col, select
from typer.core import TyperGroup

from bot.guard import redact_token_in_logs
from bot.settings import Settings
from models.db import Database, upgrade
from models.files import secure_data_dir, write_private
from models.media import invite_qr_png, qr_png
from models.programme import ProgrammeError, create_invite, deep_link, format_short_code
from models.tables import Contact, Enterprise, Invite, Provider, Role

if TYPE_CHECKING:
    from telegram.ext import Application, ExtBot

    from scheduler.config import SchedulerConfig

# A crash must never print local variables: the settings, and so the bot token, are among them.
app = typer.Typer(
    help="oshbot: follow-up of OSH support programmes for SMEs, in Telegram.",
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.")
import_app = typer.Typer(help="Bulk imports.")
provider_app = typer.Typer(help="OSH service providers.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(provider_app, name="provider")
privacy_app = typer.Typer(help="Personal-data requests received outside Telegram.")
app.add_typer(privacy_app, name="privacy")
event_app = typer.Typer(help="Events: meetings and workshops.")
app.add_typer(event_app, name="event")
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the width


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


def _operator_errors() -> tuple[type[BaseException], ...]:
    from telegram.error import InvalidToken, NetworkError

    return (InvalidToken, NetworkError, sa.exc.OperationalError, sa.exc.InterfaceError)


OPERATOR_ERRORS = _operator_errors()


class ExplainedErrors(logging.Filter):
    """A logged error that `explain` knows (no network, bad token, no database) becomes one
    line; libraries log them with a full traceback. Under --debug they keep it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None or debugging():
            return True
        error = record.exc_info[1]
        # Only what the operator must fix (token, network, database); a handler's bug keeps its
        # traceback in the log.
        line = explain(error) if isinstance(error, OPERATOR_ERRORS) else None
        if line is None:
            return True
        if "Bootstrap" in record.getMessage():
            return False  # start-up: `main` prints the line once the command stops
        record.msg, record.args = f"{record.getMessage()} {line}", None
        record.exc_info, record.exc_text = None, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors (OSHBOT_LOG_FORMAT=json)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            # The text RedactToken cleaned, when it has run (bot/guard.py).
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, token: str | None = None, log_format: str | None = None) -> None:
    log_format = log_format or os.environ.get("OSHBOT_LOG_FORMAT", "text")
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(ExplainedErrors())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # A line per job tick, and a warning for each tick skipped while a long send still runs,
    # drown what matters; the job metrics count them.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    if token:
        redact_token_in_logs(token)


def lead_when_free(application: Application) -> Application:  # type: ignore[type-arg]
    """The bot sends only while it holds the sender lock (models/locks.py): a cron `jobs run`
    or a `broadcast --yes` sending at that moment keeps it until it is done."""
    from bot.cluster import LEADERSHIP
    from models.locks import Leadership

    application.bot_data[LEADERSHIP] = Leadership(application.bot_data["runtime"].database.engine)
    return application


@contextmanager
def sender_turn(database: Database) -> Iterator[bool]:
    """Whether this command may send now: True while it holds the sender lock, False when a
    running bot (or another command) sends; the messages then stay queued for it."""
    from models.locks import Leadership

    leadership = Leadership(database.engine)
    leading, _became = leadership.check()
    try:
        yield leading
    finally:
        leadership.release()


NO_TOKEN = "OSHBOT_TOKEN is not set: get a token from @BotFather and set it."
# `oshbot webhook` with a Zalo token alone: what works instead.
NO_TELEGRAM_WEBHOOK = (
    "OSHBOT_TOKEN is not set: this command serves Telegram's webhook. On Zalo alone, run "
    "`oshbot run` (long polling) or `oshbot serve` (Zalo's webhook)."
)


@app.command()
def run() -> None:
    """Run the bot with long polling."""
    from bot.app import build_application

    config = settings()
    if not config.token and not config.zalo_token:
        raise fail(
            "OSHBOT_TOKEN is not set: get a token from @BotFather and set it (or "
            "OSHBOT_ZALO_TOKEN, to run on Zalo alone)."
        )
    setup_logging(config.log_level, config.token or config.zalo_token, config.log_format)
    if not config.token:
        from bot.alone import run_alone

        run_alone(config)
        return
    application = lead_when_free(build_application(config))
    if config.zalo_token:
        from bot.app import attach_zalo

        attach_zalo(application)
    application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])


@app.command()
def webhook() -> None:
    """Run the bot behind an HTTPS webhook (OSHBOT_WEBHOOK_URL, OSHBOT_WEBHOOK_SECRET)."""
    from bot.app import build_application

    config = settings()
    if not config.token:
        raise fail(NO_TELEGRAM_WEBHOOK if config.zalo_token else NO_TOKEN)
    if not config.webhook_url or not config.webhook_secret:
        raise fail("Webhook mode needs OSHBOT_WEBHOOK_URL and OSHBOT_WEBHOOK_SECRET.")
    setup_logging(config.log_level, config.token, config.log_format)
    application = lead_when_free(build_application(config))
    if config.zalo_token:
        # PTB's own webhook server serves Telegram alone: Zalo is long-polled beside it.
        from bot.app import attach_zalo

        attach_zalo(application)
    application.run_webhook(
        listen=config.webhook_listen,
        port=config.webhook_port,
        webhook_url=config.webhook_url,
        secret_token=config.webhook_secret,
        allowed_updates=["message", "callback_query", "my_chat_member"],
    )


def _print_version(value: bool) -> None:
    from bot import __version__

    if value:
        console.print(f"oshbot {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print oshbot's version and stop.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the whole traceback of an error.")
    ] = False,
) -> None:
    """oshbot: follow-up of OSH support programmes for SMEs, in Telegram."""
    if debug:
        os.environ["OSHBOT_DEBUG"] = "1"


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default OSHBOT_WEBHOOK_LISTEN).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default OSHBOT_WEBHOOK_PORT).")
    ] = None,
) -> None:
    """Run the web application: webhooks, /healthz, /metrics. Start one per worker; on
    PostgreSQL several workers behind a load balancer share the work (see "Deploying")."""
    from bot import serve as serving

    config = settings()
    if not config.token and not config.zalo_token:
        raise fail(NO_TOKEN)
    if config.token and not (config.webhook_url and config.webhook_secret):
        raise fail("`oshbot serve` needs OSHBOT_WEBHOOK_URL and OSHBOT_WEBHOOK_SECRET.")
    if config.zalo_token and not (config.public_url and config.zalo_webhook_secret):
        raise fail(
            "Zalo's webhook needs OSHBOT_PUBLIC_URL (Zalo posts to <it>/zalo) and "
            "OSHBOT_ZALO_WEBHOOK_SECRET."
        )
    setup_logging(config.log_level, config.token or config.zalo_token, config.log_format)
    try:
        serving.run(
            config,
            host=host or config.webhook_listen,
            port=config.webhook_port if port is None else port,
        )
    except serving.SecondWorker as error:
        raise fail(
            f"Another oshbot serves the SQLite database {error} already. SQLite allows one "
            'worker: run more than one on PostgreSQL (see "Deploying" in README.md).'
        ) from error


@app.command("backup")
def backup_command(
    out: Annotated[
        Path | None, typer.Argument(help="Archive to write (default backups/oshbot-TIME.tar.gz).")
    ] = None,
) -> None:
    """Copy the database and the data folder into one archive, while the bot runs."""
    from bot.backup import BackupError, backup

    config = settings()
    target = out or Path("backups") / f"oshbot-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar.gz"
    try:
        manifest = backup(config.database_url, config.data_dir, target)
    except BackupError as error:
        raise fail(f"Backup failed: {error}") from error
    console.print(f"Backup of the {manifest.database} database and {config.data_dir}: {target}")


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive `oshbot backup` wrote.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Replace the database and the data folder with a backup's. Stop every worker first."""
    from bot.backup import BackupError, read_manifest, restore

    config = settings()
    try:
        manifest = read_manifest(archive)
    except BackupError as error:
        raise fail(str(error)) from error
    question = (
        f"Replace the database and {config.data_dir} with the backup taken {manifest.taken_at}?"
    )
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)
    try:
        restore(archive, config.database_url, config.data_dir)
    except BackupError as error:
        raise fail(f"Restore failed: {error}") from error
    # An older backup has an older schema: bring it to this version's.
    Database(config.database_url)
    console.print(f"Restored the backup taken {manifest.taken_at} (oshbot {manifest.version}).")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations that the database does not have yet."""
    config = settings()
    database = Database(config.database_url, migrate=False)
    changed = upgrade(database.engine)
    console.print("Database upgraded." if changed else "Database already up to date.")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups() -> None:
    """Recompute the summary rollups from the raw rows (after a bulk load or hand-written SQL)."""
    from reports.rollups import rebuild

    database = Database(settings().database_url)
    with database.session() as session:
        counts = rebuild(session)
    console.print(", ".join(f"{table}: {rows:,} rows" for table, rows in counts.items()))


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


class InviteGroup(TyperGroup):
    """`oshbot invite ROLE ...` issues a link, as it always did, beside `oshbot invite revoke`
    and `oshbot invite list`: a first word that is no sub-command is the role of `create`.
    (Typer has no default sub-command, and click-default-group does not apply to Typer's
    own vendored Click.)"""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


invite_app = typer.Typer(
    cls=InviteGroup,
    help="Invite links: issue (oshbot invite ROLE ...), end (revoke) and list them.",
    no_args_is_help=True,
)
app.add_typer(invite_app, name="invite")
members_app = typer.Typer(help="Who belongs to an enterprise or a provider; removing someone.")
app.add_typer(members_app, name="members")


def print_invite(invite: Invite, username: str) -> None:
    console.print(deep_link(username, invite.code), soft_wrap=True)
    limit = invite.max_uses if invite.max_uses is not None else "no limit"
    console.print(
        f"code to type: {format_short_code(invite.short_code)}  joined: {invite.uses} of {limit}"
        f"  valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC"
    )


@invite_app.command("create")
def invite(
    role: Annotated[InviteRole, typer.Argument(help="Who the link is for.")],
    provider: Annotated[int | None, typer.Option(help="Provider id (staff, partner).")] = None,
    enterprise: Annotated[
        int | None, typer.Option(help="Enterprise id (employer, worker).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="How many people may join with it (default: see README)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the QR code PNG.")] = None,
) -> None:
    """Print an invite link and its short code; write its QR code as PNG.

    A new employer or worker link ends the enterprise's older one of the same role."""
    config = settings()
    if role in (InviteRole.staff, InviteRole.partner) and provider is None:
        raise fail(f"`oshbot invite {role}` needs --provider ID.")
    if role in (InviteRole.employer, InviteRole.worker) and enterprise is None:
        raise fail(f"`oshbot invite {role}` needs --enterprise ID.")
    username = resolve_bot_username(config)
    database = Database(config.database_url)
    now = datetime.now(UTC)
    try:
        with database.session() as session:
            replaced = (
                enterprise is not None
                and session.exec(
                    select(Invite.id).where(
                        Invite.enterprise_id == enterprise,
                        Invite.role == role.value,
                        col(Invite.revoked_at).is_(None),
                        col(Invite.expires_at) > now,
                    )
                ).first()
            )
            created = create_invite(
                session,
                role=Role(role.value),
                days=config.invite_days,
                provider_id=provider,
                enterprise_id=enterprise,
                max_uses=limit,
                now=now,
            )
    except ProgrammeError as error:
        raise fail(f"Cannot create the invite: {error.code}") from error
    link = deep_link(username, created.code)
    # Named by role, time and id, never by the code: a file listing must not leak a live link.
    issued = created.created_at.astimezone(config.tz)
    name = f"invite-{role}-{issued:%Y%m%d-%H%M%S}-{created.id}.png"
    if out is None:
        secure_data_dir(config.data_dir)
    short = format_short_code(created.short_code)
    target = write_private(
        out or config.data_dir / "invites" / name, invite_qr_png(link, config.zalo_chat_url, short)
    )
    print_invite(created, username)
    if config.zalo_chat_url:
        console.print(f"on Zalo: open {config.zalo_chat_url} and type {short}", soft_wrap=True)
    console.print(f"QR code: {target}")
    if replaced:
        console.print(f"The enterprise's older {role} link no longer works.")


@invite_app.command("join")
def invite_join(
    out: Annotated[Path | None, typer.Option(help="Where to write the QR code PNG.")] = None,
) -> None:
    """Print the link for joining without an invite (newsletter, leaflet, website) and write
    its QR code as PNG: whoever opens it asks to join, and the providers of their province
    decide. The link never expires and is not secret."""
    from models.enrolment import JOIN_PAYLOAD

    config = settings()
    link = deep_link(resolve_bot_username(config), JOIN_PAYLOAD)
    if out is None:
        secure_data_dir(config.data_dir)
    target = write_private(out or config.data_dir / "invites" / "join.png", qr_png(link))
    console.print(link, soft_wrap=True)
    console.print(f"QR code: {target}")


@invite_app.command("revoke")
def invite_revoke(
    code: Annotated[
        str | None, typer.Argument(help="The link's code (after start=) or its short code.")
    ] = None,
    enterprise: Annotated[
        int | None, typer.Option(help="Every live link of this enterprise…")
    ] = None,
    role: Annotated[InviteRole | None, typer.Option(help="…for this role.")] = None,
) -> None:
    """End a link at once, by its code or all of an enterprise's links of one role.

    People who joined with it stay. Issue a new one with `oshbot invite ROLE --enterprise ID`."""
    from models.programme import find_invite, revoke_invite, revoke_live
    from models.tables import utcnow

    if (code is None) == (enterprise is None) or (enterprise is not None and role is None):
        raise fail("Give a CODE, or --enterprise ID with --role ROLE.")
    now = utcnow()
    with Database(settings().database_url).session() as session:
        if code is not None:
            found = find_invite(session, code)
            if found is None:
                raise fail("No invite has this code.")
            ended = int(revoke_invite(session, found, now=now))
        else:
            assert role is not None and enterprise is not None
            if session.get(Enterprise, enterprise) is None:
                raise fail(f"No enterprise {enterprise}.")
            ended = revoke_live(session, enterprise_id=enterprise, role=Role(role.value), now=now)
    console.print(f"Ended {ended} link{'s' if ended != 1 else ''}.")


@invite_app.command("list")
def invite_list(
    enterprise: Annotated[int | None, typer.Option(help="Only this enterprise.")] = None,
    provider: Annotated[int | None, typer.Option(help="Only this provider.")] = None,
) -> None:
    """The links that still admit people: id, role, whose, short code, joined/limit, until."""
    config = settings()
    now = datetime.now(UTC)
    with Database(config.database_url).session() as session:
        query = select(Invite).where(
            col(Invite.revoked_at).is_(None),
            col(Invite.expires_at) > now,
            sa.or_(col(Invite.max_uses).is_(None), col(Invite.uses) < col(Invite.max_uses)),
        )
        if enterprise is not None:
            query = query.where(Invite.enterprise_id == enterprise)
        if provider is not None:
            query = query.where(Invite.provider_id == provider)
        rows = session.exec(query.order_by(col(Invite.id))).all()
    for row in rows:
        whose = (
            f"enterprise {row.enterprise_id}"
            if row.enterprise_id
            else (f"provider {row.provider_id}" if row.provider_id else "programme")
        )
        console.print(
            f"{row.id}\t{row.role}\t{whose}\t{format_short_code(row.short_code)}\t"
            f"{row.uses}/{row.max_uses if row.max_uses is not None else '-'}\t"
            f"until {row.expires_at:%Y-%m-%d %H:%M} UTC",
            markup=False,
            soft_wrap=True,
        )


@members_app.command("list")
def members_list(
    enterprise: Annotated[
        int | None, typer.Option(help="An enterprise's employers and workers.")
    ] = None,
    provider: Annotated[int | None, typer.Option(help="A provider's staff and partners.")] = None,
) -> None:
    """Members with their contact ids (for `oshbot members remove`)."""
    from models import members

    if (enterprise is None) == (provider is None):
        raise fail("Give --enterprise ID or --provider ID.")
    with Database(settings().database_url).session() as session:
        if enterprise is not None:
            people = members.members_of(session, enterprise)
        else:
            people = members.people_of(session, provider)  # type: ignore[arg-type]
    for person in people:
        console.print(
            f"{person.id}\t{person.role}\t{person.display_name or ''}\t"
            f"joined {person.registered_at:%Y-%m-%d}",
            markup=False,
            soft_wrap=True,
        )


@members_app.command("remove")
def members_remove(
    contact: Annotated[int, typer.Argument(help="Contact id (see `oshbot members list`).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Remove a person at once: no access, no messages; they are told in their language.

    Their reports stay with the enterprise; they can come back only with a new link."""
    from models import members
    from models.tables import utcnow

    database = Database(settings().database_url)
    with database.session() as session:
        person = session.get(Contact, contact)
        if person is None or person.removed_at is not None or person.erased_at is not None:
            raise fail(f"Contact {contact} is not a member (removed or erased already?).")
        question = f"Remove contact {contact} ({person.display_name}, {person.role})?"
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)
    try:
        with database.session() as session:
            members.remove_member(session, contact, actor=None, now=utcnow())
    except ProgrammeError as error:
        raise fail(f"Cannot remove contact {contact}: {error.code}") from error
    console.print(f"Contact {contact} removed; they will be told.")


@provider_app.command("add")
def provider_add(
    name: Annotated[str, typer.Argument(help="The provider's name.")],
    province: Annotated[str | None, typer.Option(help="Province code or name.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone, for the consent and leaflets.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail, for the consent and leaflets.")] = None,
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
            created = add_provider(session, name=name, province_code=code, phone=phone, email=email)
        except ProgrammeError as error:
            raise fail(f"Cannot add the provider: {error.code}") from error
    console.print(f"Provider {created.id}: {created.name}")


@provider_app.command("contact")
def provider_contact(
    provider: Annotated[int, typer.Argument(help="Provider id (see `oshbot provider list`).")],
    phone: Annotated[str | None, typer.Option(help="Phone number; '' clears it.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address; '' clears it.")] = None,
) -> None:
    """Set a provider's phone and e-mail: the data controller's contact in the consent card."""
    from models.privacy import provider_contact as contact_line
    from models.programme import set_provider_contact

    with Database(settings().database_url).session() as session:
        try:
            changed = set_provider_contact(session, provider_id=provider, phone=phone, email=email)
        except ProgrammeError as error:
            raise fail(f"Cannot change the provider: {error.code}") from error
        console.print(f"Provider {changed.id}: {changed.name} — {contact_line(changed) or '—'}")


@provider_app.command("list")
def provider_list() -> None:
    """List the providers with their ids and contacts."""
    from models.privacy import provider_contact
    from models.programme import providers

    with Database(settings().database_url).session() as session:
        for row in providers(session):
            contact = provider_contact(row) or "—"
            console.print(f"{row.id}\t{row.name}\t{row.province_code or ''}\t{contact}")


@event_app.command("qr")
def event_qr(
    event: Annotated[int, typer.Option(help="Event id (shown in /events and the database).")],
    out: Annotated[Path | None, typer.Option(help="Where to write the QR code PNG.")] = None,
) -> None:
    """Print an event's check-in link and write its printable QR code as PNG."""
    from models.events import CHECKIN_PREFIX
    from models.tables import Event

    config = settings()
    with Database(config.database_url).session() as session:
        found = session.get(Event, event)
    if found is None:
        raise fail(f"No event with id {event}.")
    link = deep_link(resolve_bot_username(config), f"{CHECKIN_PREFIX}{found.checkin_code}")
    if out is None:
        secure_data_dir(config.data_dir)
    target = write_private(out or config.data_dir / "events" / f"event-{event}-checkin.png",
                           qr_png(link))  # fmt: skip
    console.print(link, soft_wrap=True)
    starts = found.starts_at.astimezone(config.tz)
    console.print(f"QR code: {target}  ({found.title}, {starts:%Y-%m-%d %H:%M} {config.timezone})")


LanguageOption = Annotated[
    str | None,
    typer.Option("--language", help="vi or en: the language of the messages (default: "
                 "OSHBOT_DEFAULT_LANGUAGE)."),
]  # fmt: skip


def report_import(
    subject: str, language: str | None, config: Settings, run: Any, path: Path
) -> None:
    """Runs an import and prints its outcome as sentences in the person's language (the
    problems by line on stderr); exit status 1 when a row or the file was refused."""
    from models.imports import describe_file_error, describe_report

    lang = language or config.default_language
    if lang not in ("vi", "en"):
        raise fail("--language must be vi or en.")
    try:
        report = run()
    except ProgrammeError as error:
        raise fail(f"{path}: {describe_file_error(error, lang)}") from error
    head, *problems = describe_report(report, lang, subject=subject)
    console.print(head, markup=False)
    for line in problems:
        err.print(line, markup=False, soft_wrap=True)
    if report.errors:
        raise typer.Exit(1)


@import_app.command("enterprises")
def import_enterprises_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file.")],
    provider: Annotated[int, typer.Option(help="Provider the enterprises belong to.")],
    language: LanguageOption = None,
) -> None:
    """Add enterprises in bulk; rows with errors are reported by line, the rest imported."""
    from models.imports import import_enterprises

    config = settings()
    database = Database(config.database_url)
    today = datetime.now(config.tz).date()

    def run() -> Any:
        with database.session() as session:
            return import_enterprises(session, path, provider_id=provider, today=today)

    report_import("enterprise", language, config, run, path)


def privacy_contact(session: Session, contact_id: int) -> Contact:
    found = session.get(Contact, contact_id)
    if found is None or found.erased_at is not None:
        raise fail(f"No contact {contact_id} (or it was erased already).")
    return found


@privacy_app.command("export")
def privacy_export(
    contact: Annotated[int, typer.Option(help="Contact id (see the audit log or exports).")],
    out: Annotated[Path | None, typer.Option(help="Write the JSON here instead of stdout.")] = None,
) -> None:
    """Everything oshbot holds about one person, as JSON."""
    from models import privacy
    from models.programme import audit

    with Database(settings().database_url).session() as session:
        person = privacy_contact(session, contact)
        data = privacy.export(session, person)
        audit(session, "contact.export", subject=person, via="cli")
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out is None:
        console.print_json(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Written to {out}")


@privacy_app.command("erase")
def privacy_erase(
    contact: Annotated[int, typer.Option(help="Contact id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Erase one person's personal data (reports stay with the enterprise, without them)."""
    from models import privacy

    config = settings()
    with Database(config.database_url).session() as session:
        person = privacy_contact(session, contact)
        if not yes and not typer.confirm(f"Erase contact {contact} ({person.display_name})?"):
            raise typer.Exit(1)
        privacy.erase(session, person, now=datetime.now(UTC))
    console.print(f"Contact {contact} erased.")
    # Whatever they showed of this person leaves the public site and newsletter now.
    from reports import current

    database = Database(config.database_url)
    try:
        rebuilt = current.rebuild_now(database, config, now=datetime.now(UTC))
    finally:
        database.dispose()
    if rebuilt.get("site_pages"):
        console.print(f"The website and newsletter in {current.public_dir(config)} were rebuilt.")


class SandboxChannel(StrEnum):
    telegram = "telegram"
    zalo = "zalo"


@app.command()
def sandbox(
    channel: Annotated[
        SandboxChannel, typer.Option(help="Which platform the sandbox plays.")
    ] = SandboxChannel.telegram,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default 8081 Telegram, 8082 Zalo).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    rate: Annotated[
        float | None,
        typer.Option(help="Messages a second over all chats before 429 (default 30 / 10)."),
    ] = None,
    chat_rate: Annotated[
        float | None, typer.Option(help="Messages a second to one chat before 429 (default 1).")
    ] = None,
    chat_burst: Annotated[
        int | None, typer.Option(help="Messages one chat may receive at once (default 3).")
    ] = None,
    no_limits: Annotated[bool, typer.Option("--no-limits", help="Never answer 429.")] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Telegram: at most --rate sends in any sliding second, no burst (429 beyond).",
        ),
    ] = False,
    insecure_urls: Annotated[
        bool,
        typer.Option(
            "--insecure-urls",
            help="Zalo: accept http:// webhook and photo URLs (a bot without TLS on this machine).",
        ),
    ] = False,
) -> None:
    """Serve a local sandbox of the Telegram Bot API or the Zalo Bot Platform over HTTP."""
    from dataclasses import replace

    config = settings()
    setup_logging(config.log_level)
    if any(value is not None and value <= 0 for value in (rate, chat_rate, chat_burst)):
        raise fail("Rates and bursts must be positive (use --no-limits to switch them off).")
    overrides: dict[str, Any] = {}
    if rate is not None:
        overrides.update(global_per_second=rate, global_burst=max(1, int(rate)))
    if chat_rate is not None:
        overrides["per_chat_per_second"] = chat_rate
    if chat_burst is not None:
        overrides["per_chat_burst"] = chat_burst
    if strict and no_limits:
        raise fail("--strict and --no-limits contradict each other.")
    if channel is SandboxChannel.zalo:
        if strict:
            raise fail("--strict is for the Telegram sandbox.")
        from bot.zalo.limits import RateLimits as ZaloLimits
        from bot.zalo.sandbox import DEFAULT_TOKEN
        from bot.zalo.sandbox_http import serve_forever as serve_zalo

        serve_zalo(
            host=host,
            port=8082 if port is None else port,
            token=config.zalo_token or DEFAULT_TOKEN,
            limits=None if no_limits else replace(ZaloLimits(), **overrides),
            insecure_urls=insecure_urls,
        )
        return
    from bot.sandbox import RateLimits, serve_forever

    if strict:
        overrides["strict"] = True
    serve_forever(
        host=host,
        port=8081 if port is None else port,
        token=config.token or "123456:SANDBOX-TOKEN",
        bot_username=config.bot_username or "oshbot_sandbox_bot",
        limits=None if no_limits else replace(RateLimits(), **overrides),
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
    console.print(f"Screenshots: {out / 'screens'}")
    for missing in result.screens_missing:
        console.print(f"Not taken: {missing}")


@app.command()
def status() -> None:
    """How many providers, enterprises, invites and contacts the database holds."""
    from models.programme import counts

    config = settings()
    with Database(config.database_url).session() as session:
        for key, value in counts(session).items():
            console.print(f"{key}: {value}")


# -- good practices, broadcasts and publications (reports/newsletter.py, reports/site.py) -----

site_app = typer.Typer(help="The static website.")
app.add_typer(site_app, name="site")


class BroadcastRole(StrEnum):
    employer = "employer"
    worker = "worker"


def publication_link(config: Settings) -> str:
    from reports.publish import invitation_link

    return invitation_link(config.site_url, config.bot_username)


@app.command("broadcast")
def broadcast_command(
    text: Annotated[str | None, typer.Option(help="The message, as it should read.")] = None,
    improvement: Annotated[
        int | None, typer.Option(help="Share this good practice (a card with its photo).")
    ] = None,
    photo: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="A photo to send with it.")
    ] = None,
    provider: Annotated[int | None, typer.Option(help="Only this provider's SMEs.")] = None,
    province: Annotated[list[str] | None, typer.Option(help="Province code or name.")] = None,
    sector: Annotated[list[str] | None, typer.Option(help="Sector code.")] = None,
    role: Annotated[BroadcastRole | None, typer.Option(help="Employers or workers only.")] = None,
    area: Annotated[
        str | None, typer.Option(help="Only SMEs with no report yet in this technical area.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking.")] = False,
    wait: Annotated[
        bool, typer.Option(help="Send now with a progress bar (--no-wait: leave it to the bot).")
    ] = True,
) -> None:
    """Broadcast a text or a good practice to an audience, through the outbox."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from models import audience as audiences
    from models import broadcasts, content, goodpractice
    from models.notices.cards import renderer
    from models.outbox import ZALO
    from models.tables import utcnow
    from scheduler.config import SchedulerConfig

    config = settings()
    if (text is None) == (improvement is None):
        raise fail("Give either --text or --improvement.")
    provinces = []
    for name in province or []:
        found = content.find_province(name)
        if found is None:
            raise fail(f"Unknown province: {name}")
        provinces.append(found.code)
    for code in sector or []:
        if content.sector(code) is None:
            raise fail(f"Unknown sector: {code}")
    if area is not None and content.area(area) is None:
        raise fail(f"Unknown technical area: {area}")
    chosen = audiences.Audience(
        provider_id=provider,
        provinces=tuple(provinces),
        sectors=tuple(sector or ()),
        roles=(role.value,) if role else audiences.SME_ROLES,
        no_reports_in_area=area,
    )
    database = Database(config.database_url)
    try:
        with database.session() as session:
            draft = broadcasts.create(
                session,
                author=None,
                text=text,
                photo_path=str(photo.resolve()) if photo else None,
                improvement_id=improvement,
            )
            number = broadcasts.set_audience(
                session,
                broadcast_id=draft.id,
                author=None,
                audience=chosen,  # type: ignore[arg-type]
            )
            broadcast_id = draft.id
    except ProgrammeError as error:
        raise fail(f"Cannot broadcast: {error.code} {error.details or ''}") from error
    assert broadcast_id is not None
    console.print(f"Broadcast {broadcast_id}: {number} recipients.")
    if number == 0:
        raise fail("Nobody matches this audience.")
    if not yes and not typer.confirm(f"Send to {number} recipients?"):
        with database.session() as session:
            broadcasts.cancel(session, broadcast_id=broadcast_id, author=None)
        raise typer.Exit(1)
    with database.session() as session:
        entry = (
            goodpractice.entry(session, improvement, media_root=config.media_dir)
            if improvement
            else None
        )
        render = renderer(entry, text, str(photo.resolve()) if photo else None)
        total = broadcasts.confirm(
            session, broadcast_id=broadcast_id, author=None, render=render, now=utcnow()
        )
    console.print(f"Queued {total} messages (keys broadcast:{broadcast_id}:<contact>).")
    if not wait:
        return
    if not config.token and not config.zalo_token:
        raise fail("OSHBOT_TOKEN is not set: the running bot will send them.")
    setup_logging("WARNING")
    if not config.token:
        console.print(TELEGRAM_WAITS, soft_wrap=True)

    async def send(mine: bool) -> broadcasts.Progress:
        """Sends while this command holds the sender lock; otherwise the running bot sends,
        and the bar follows its progress."""
        from bot.request import running
        from bot.sender import drain, zalo_route
        from models.outbox import TELEGRAM

        schedule = SchedulerConfig.from_settings(config)
        bot = telegram_sender(config)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        zalo = zalo_route(config)
        # The channels this deployment has a token for: the rows of another wait for its token
        # (Zalo's without OSHBOT_ZALO_TOKEN, Telegram's on Zalo alone), so the bar stops when
        # these are done rather than wait for them.
        channels = [name for name, route in ((TELEGRAM, bot), (ZALO, zalo)) if route is not None]
        async with running(bot), zalo.client if zalo is not None else nullcontext():
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("sending", total=total)
                while True:
                    held = False
                    if mine:
                        report = await drain(
                            bot, database, clock=utcnow, config=schedule, zalo=zalo
                        )
                        held = report.held
                    with database.session() as session:
                        shown = broadcasts.progress(session, broadcast_id)
                        ours_done = all(
                            broadcasts.progress(session, broadcast_id, channel=name).finished
                            for name in channels
                        )
                    bar.update(task, completed=shown.done)
                    if shown.finished:
                        with database.session() as session:
                            broadcasts.record_shown(session, broadcast_id=broadcast_id, shown=shown)
                        return shown
                    if ours_done:
                        return shown
                    if held:
                        return shown  # quiet hours: the bot sends the rest when they end
                    await asyncio.sleep(1)

    with sender_turn(database) as mine:
        if not mine:
            console.print("The running bot is sending them; following its progress.")
        shown = asyncio.run(send(mine))
    console.print(
        f"Sent {shown.sent}, failed {shown.failed}, skipped {shown.skipped}, "
        f"waiting {shown.pending}."
    )
    if config.token and not config.zalo_token:
        with database.session() as session:
            on_zalo = broadcasts.progress(session, broadcast_id, channel=ZALO).pending
        if on_zalo:
            console.print(ZALO_WAITS.format(count=on_zalo), soft_wrap=True)
    schedule = SchedulerConfig.from_settings(config)
    ends = schedule.quiet.until(utcnow(), schedule.tz)
    if shown.pending and ends is not None:
        console.print(
            f"Quiet hours until {ends.astimezone(schedule.tz):%H:%M} (programme time): the "
            "running bot or the next `oshbot jobs run` sends the rest then."
        )


@app.command("newsletter")
def newsletter_command(
    period: Annotated[str, typer.Option(help="2027-03, 2027-Q1 or 2027.")],
    lang: Annotated[str, typer.Option(help="vi or en.")] = "vi",
    provider: Annotated[int | None, typer.Option(help="One provider's newsletter.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the HTML and the PDF.")] = Path("."),
) -> None:
    """Render the newsletter as HTML and PDF."""
    from reports import newsletter

    config = settings()
    if lang not in ("vi", "en"):
        raise fail("--lang must be vi or en.")
    with Database(config.database_url).session() as session:
        try:
            publication = newsletter.newsletter(
                session, period_text=period, language=lang, provider_id=provider,
                tz=config.tz, today=datetime.now(config.tz).date(),
                link=publication_link(config), media_root=config.media_dir,
            )  # fmt: skip
        except ProgrammeError as error:
            raise fail(f"Cannot make the newsletter: {error.code}") from error
    for path in newsletter.write(publication, out):
        console.print(str(path))


@app.command("leaflet")
def leaflet_command(
    improvement: Annotated[int, typer.Option(help="The good practice (improvement id).")],
    lang: Annotated[str, typer.Option(help="vi or en.")] = "vi",
    out: Annotated[Path | None, typer.Option(help="The PDF file to write.")] = None,
) -> None:
    """Render a one-page A5 PDF leaflet of one good practice."""
    from reports import newsletter

    config = settings()
    with Database(config.database_url).session() as session:
        try:
            publication = newsletter.leaflet(
                session,
                improvement_id=improvement,
                language=lang,
                link=publication_link(config),
                media_root=config.media_dir,
            )
        except ProgrammeError as error:
            raise fail(f"Cannot make the leaflet: {error.code}") from error
    target = out or Path(f"{publication.name}.pdf")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(publication.pdf)
    console.print(str(target))


@site_app.command("build")
def site_build(
    out: Annotated[Path, typer.Option(help="Folder to write the site into.")] = Path("site"),
) -> None:
    """Write the static website (vi and en) into a folder any web host can serve."""
    from reports.site import build_site

    config = settings()
    with Database(config.database_url).session() as session:
        built = build_site(
            session, out, tz=config.tz, today=datetime.now(config.tz).date(),
            link=publication_link(config), media_root=config.media_dir,
            site_url=config.site_url,
        )  # fmt: skip
    console.print(f"{len(built.pages)} pages in {out}/ (open {out / 'index.html'})")
    if not config.site_url:
        console.print(
            "OSHBOT_SITE_URL is not set: links shared in Zalo or Facebook will preview without "
            "a photo (previews need the site's public address)."
        )


jobs_app = typer.Typer(help="The scheduler's jobs (revisits, tips, nudges, digests).")
app.add_typer(jobs_app, name="jobs")


def parse_now(text: str | None, config: Settings) -> datetime:
    """--now as ISO time; without a zone it is programme time."""
    from models.tables import utcnow

    if text is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise fail(f"--now must be an ISO time such as 2027-03-01T09:00: {text}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=config.tz)


# How long, in all, a cron run may wait for Telegram's 429 pauses to end before it exits and
# leaves the rest to the next run (or the bot); sending itself is bounded by what is due.
JOBS_RUN_PATIENCE = 600.0


@jobs_app.command("run")
def jobs_run(
    now: Annotated[
        str | None, typer.Option(help="Pretend it is this time (ISO; programme time zone).")
    ] = None,
    send: Annotated[bool, typer.Option(help="Drain the outbox afterwards.")] = True,
) -> None:
    """Run every due job once, then send what the outbox holds, and exit (for cron)."""
    from scheduler.config import SchedulerConfig
    from scheduler.runner import run_due

    config = settings()
    setup_logging(config.log_level, config.token, config.log_format)
    moment = parse_now(now, config)
    scheduler_config = SchedulerConfig.from_settings(config)
    database = Database(config.database_url)
    for ran in run_due(database, now=moment, config=scheduler_config):
        console.print(f"{ran.job}: {ran.result}")
    if not send:
        return
    if not config.token and not config.zalo_token:
        console.print("OSHBOT_TOKEN is not set: messages stay in the outbox.")
        return
    if not config.token:
        console.print(TELEGRAM_WAITS, soft_wrap=True)
    with sender_turn(database) as mine:
        if not mine:
            console.print("outbox: the running bot is sending; what is due waits for it.")
            return
        asyncio.run(drain_outbox(config, database, moment, scheduler_config))


# What a broadcast says of its recipients on Zalo when only Telegram's token is set.
ZALO_WAITS = (
    "{count} of them are on Zalo and OSHBOT_ZALO_TOKEN is not set: they wait in the outbox "
    "until a process with it sends them."
)

# What a sending command says once when only Zalo's token is set (oshbot on Zalo alone).
TELEGRAM_WAITS = (
    "OSHBOT_TOKEN is not set: messages go by Zalo; those for people on Telegram only stay in "
    "the outbox."
)


def telegram_sender(config: Settings) -> ExtBot[None] | None:
    """The bot a command sends the outbox's Telegram rows with, paced like the running bot's and
    on its client (bot/request.py); None without OSHBOT_TOKEN (Zalo alone: only Zalo's rows go).
    It has no defaults: the sender says each message's parse mode itself (bot/sender.py)."""
    from telegram.ext import ExtBot

    from bot.cluster import MeteredRequest
    from bot.ratelimit import PacedRateLimiter

    if not config.token:
        return None
    return ExtBot(
        config.token,
        base_url=config.api_base_url,
        base_file_url=config.api_file_base_url,
        request=MeteredRequest(),
        rate_limiter=PacedRateLimiter(per_second=config.send_rate, jitter=config.send_jitter),
    )


async def drain_outbox(
    config: Settings, database: Database, moment: datetime, scheduler_config: SchedulerConfig
) -> None:
    """`jobs run`'s sending: what is due, with 429 pauses waited out (JOBS_RUN_PATIENCE)."""
    from bot.request import running
    from bot.sender import drain, zalo_route

    bot = telegram_sender(config)
    # The run's clock starts at --now and moves with real time, so that a row Telegram
    # asked us to send again in a few seconds (429) comes due before the run ends.
    started = time.monotonic()

    def clock() -> datetime:
        return moment + timedelta(seconds=time.monotonic() - started)

    zalo = zalo_route(config)
    async with running(bot), zalo.client if zalo is not None else nullcontext():
        report = await drain(
            bot,
            database,
            clock=clock,
            config=scheduler_config,
            max_batches=1000,
            patience=JOBS_RUN_PATIENCE,
            zalo=zalo,
        )
    console.print(
        f"outbox: {report.sent} sent, {report.deferred} deferred, {report.skipped} skipped, "
        f"{report.failed} failed" + (" (quiet hours: only urgent kinds)" if report.held else "")
    )
    if report.waited:
        console.print(f"outbox: waited {report.waited:.0f} s for Telegram's rate limit")


@jobs_app.command("list")
def jobs_list(
    now: Annotated[str | None, typer.Option(help="As if it were this time (ISO).")] = None,
) -> None:
    """Each job, its cadence, its last run and when it is next due."""
    from scheduler.config import SchedulerConfig
    from scheduler.runner import status

    config = settings()
    moment = parse_now(now, config)
    rows = status(
        Database(config.database_url), now=moment, config=SchedulerConfig.from_settings(config)
    )
    for row in rows:
        last = f"{row.last_slot.astimezone(config.tz):%Y-%m-%d %H:%M}" if row.last_slot else "never"
        due = f"{row.next_due.astimezone(config.tz):%Y-%m-%d %H:%M}"
        due = "now" if row.next_due == moment else due
        console.print(
            f"{row.job.name:<15} {row.job.cadence.describe():<28} last {last:<17} next {due}"
            f"  — {row.job.about}",
            markup=False,
            soft_wrap=True,
        )


class SummaryFormat(StrEnum):
    text = "text"
    json = "json"
    xlsx = "xlsx"


def _period_or_fail(text: str | None, today: date) -> Any:
    from reports.figures import PeriodError, parse_period, year_period

    if text is None:
        return year_period(today.year)
    try:
        return parse_period(text)
    except PeriodError as error:
        raise fail(f"Unknown period {text!r}: {error}") from error


def _scope_or_fail(provider: int | None, province: str | None, sector: str | None,
                   area: str | None) -> Any:  # fmt: skip
    from models import content
    from reports.figures import Scope

    found_province = content.find_province(province) if province else None
    if province and found_province is None:
        raise fail(f"Unknown province: {province}")
    if sector and content.sector(sector) is None:
        raise fail(f"Unknown sector code: {sector}")
    if area and content.area(area) is None:
        raise fail(f"Unknown area code: {area}")
    return Scope(
        provider_id=provider,
        province_code=found_province.code if found_province else None,
        sector_code=sector,
        area_code=area,
    )


@app.command()
def summary(
    period: Annotated[
        str | None, typer.Option(help="2027, 2027-Q1, 2027-03 or 2027-01-15..2027-02-14.")
    ] = None,
    provider: Annotated[int | None, typer.Option(help="One provider (default: all).")] = None,
    province: Annotated[str | None, typer.Option(help="Only this province.")] = None,
    sector: Annotated[str | None, typer.Option(help="Only this sector code.")] = None,
    area: Annotated[str | None, typer.Option(help="Only this technical area code.")] = None,
    format: Annotated[SummaryFormat, typer.Option(help="Output format.")] = SummaryFormat.text,
    out: Annotated[Path | None, typer.Option(help="Write here instead of the screen.")] = None,
    language: Annotated[str, typer.Option(help="vi or en.")] = "vi",
) -> None:
    """The follow-up summary of a period: text, JSON or an XLSX workbook."""
    from reports.files import export_files, provider_name
    from reports.summary import build_summary
    from reports.text import summary_text

    config = settings()
    today = datetime.now(config.tz).date()
    chosen = _period_or_fail(period, today)
    scope = _scope_or_fail(provider, province, sector, area)
    with Database(config.database_url).session() as session:
        if provider is not None and session.get(Provider, provider) is None:
            raise fail(f"No provider {provider}.")
        result = build_summary(session, period=chosen, scope=scope, tz=config.tz, today=today)
        if format == SummaryFormat.xlsx:
            target = out or Path(f"oshbot-summary-{chosen.label}.xlsx")
            folder = target.parent
            xlsx, _csvs, _zip = export_files(
                session, summary=result, tz=config.tz, language=language, out=folder
            )
            xlsx.replace(target)
            console.print(f"Workbook: {target}")
            return
        if format == SummaryFormat.json:
            text = json.dumps(result.as_dict(), ensure_ascii=False, indent=2)
        else:
            text = summary_text(result, language, provider_name(session, scope))
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Written to {out}")


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="Folder for the workbook and CSV files.")] = Path(
        "export"
    ),
    period: Annotated[
        str | None, typer.Option(help="Rows of this period (default: this year).")
    ] = None,
    provider: Annotated[int | None, typer.Option(help="One provider (default: all).")] = None,
    language: Annotated[str, typer.Option(help="Column headers in vi or en.")] = "vi",
) -> None:
    """Everything as an XLSX workbook and CSV files (streamed, with a progress bar)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from reports.files import export_files
    from reports.summary import build_summary

    config = settings()
    today = datetime.now(config.tz).date()
    chosen = _period_or_fail(period, today)
    scope = _scope_or_fail(provider, None, None, None)
    with Database(config.database_url).session() as session:
        result = build_summary(session, period=chosen, scope=scope, tz=config.tz, today=today)
        from reports.xlsx import export_sheets

        totals = {
            sheet.name: sheet.count()
            for sheet in export_sheets(session, summary=result, tz=config.tz, language=language)
        }
        with Progress(
            TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
            console=console,
        ) as bar:  # fmt: skip
            tasks = {name: bar.add_task(name, total=total) for name, total in totals.items()}

            def advance(sheet: str, written: int) -> None:
                task = tasks[sheet]
                bar.update(task, completed=totals[sheet] if written < 0 else written)

            xlsx, csvs, archive = export_files(
                session, summary=result, tz=config.tz, language=language, out=out,
                progress=advance,
            )  # fmt: skip
    console.print(f"Workbook: {xlsx}")
    console.print(f"CSV files: {', '.join(str(path) for path in csvs)} (zipped: {archive})")


@import_app.command("improvements")
def import_improvements_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file.")],
    provider: Annotated[
        int | None, typer.Option(help="Provider whose enterprises may be named (not only ids).")
    ] = None,
    language: LanguageOption = None,
) -> None:
    """Improvements from earlier paper rounds; rows with errors are reported, the rest imported."""
    from reports.paper_import import import_improvements

    config = settings()
    today = datetime.now(config.tz).date()

    def run() -> Any:
        with Database(config.database_url).session() as session:
            return import_improvements(
                session, path, provider_id=provider, today=today, tz=config.tz
            )

    report_import("improvement", language, config, run, path)


@import_app.command("plan")
def import_plan_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file.")],
    enterprise: Annotated[int, typer.Option(help="Enterprise whose action plan this is.")],
    language: LanguageOption = None,
) -> None:
    """The action plan an enterprise made at the training; rows with errors are reported."""
    from models.plans import import_plan

    config = settings()
    now = datetime.now(UTC)

    def run() -> Any:
        with Database(config.database_url).session() as session:
            return import_plan(
                session, path, enterprise_id=enterprise, today=now.astimezone(config.tz).date(),
                now=now,
            )  # fmt: skip

    report_import("plan", language, config, run, path)


def explain(error: BaseException) -> str | None:
    """One line for the errors an operator meets (bad token, no network, no database); None
    for a bug, whose traceback is the useful part."""
    from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

    from bot.serve import NotStarted
    from models.locks import AlreadyRunning

    if isinstance(error, InvalidToken):
        return "The Bot API refused OSHBOT_TOKEN: check it with @BotFather."
    if isinstance(error, TimedOut | NetworkError):
        base = Settings().api_base_url if _settings_ok() else "the Bot API"
        return f"Cannot reach the Bot API ({base.split('/bot')[0]}): {error}"
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        return f"Cannot reach the database: {reason[0] if reason else type(error).__name__}"
    if isinstance(error, AlreadyRunning):
        return f"Another oshbot process holds {error}."
    if isinstance(error, NotStarted):
        return f"The web application did not start on {error} (the log line above says why)."
    if isinstance(error, TelegramError):
        return f"The Bot API refused a request: {error}"
    if isinstance(error, OSError) and error.errno is not None:
        return f"{error.strerror}: {error.filename or error}"
    return None


def _settings_ok() -> bool:
    try:
        Settings()
    except ValidationError:
        return False
    return True


def debugging() -> bool:
    return bool(os.environ.get("OSHBOT_DEBUG")) or (
        os.environ.get("OSHBOT_LOG_LEVEL", "").lower() == "debug"
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        line = None if debugging() else explain(error)
        if line is None:
            raise
        err.print(
            f"{line} (oshbot --debug shows the traceback)",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
