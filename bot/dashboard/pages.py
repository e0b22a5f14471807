"""The dashboard's pages: Starlette routes rendering Jinja2 templates, plain HTML forms.

Every page resolves the person once (`_viewer`): the signed cookie says who signed in, the
database says whether they still may, as what, and for which provider. Domain work goes through
the same functions as the chat: `reports.summary.build_summary` for figures (with its anonymity
rules for worker answers), `models.improvements.review` / `ask` for the review, and the chat's
own notices (models/notices/reports.py) so the reporter hears about a decision the same way
whichever window it was taken in. Database work runs in Starlette's thread pool, off the event loop.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlmodel import Session as DbSession
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.dashboard import auth
from bot.i18n import (
    LANGUAGES,
    format_day,
    format_moment,
    format_number,
    format_vnd,
    gettext,
    normalise_language,
    translator,
)
from bot.settings import Settings
from models import content, websignin
from models import improvements as imp
from models.db import Database
from models.notices.reports import (
    message_error,
    notify_reporter_reviewed,
    refusal_text,
    relay_question,
)
from models.programme import ProgrammeError, providers
from models.tables import Contact, Improvement, Role, utcnow
from reports import dashboard as board
from reports.charts import summary_charts
from reports.figures import (
    RELATIVE_PERIODS,
    Scope,
    Summary,
    quarter_period,
    relative_period,
)
from reports.files import export_files
from reports.summary import build_summary
from reports.text import (
    area_name,
    one_decimal,
    period_title,
    province_name,
    sector_name,
    visit_totals,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
PHOTO_SLOTS = ("before", "after")
TREND_QUARTERS = 4
EXPORTS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}


@cache
def environment(language: str) -> Environment:
    """The summary templates' filters and translation (reports/text.py), for web pages: the
    catalogue's own tags are trusted, every value is escaped."""
    lang = normalise_language(language)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def translate(message: str, **values: Any) -> Markup:
        return Markup(gettext(lang, message)).format(**values)

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> Markup:
        return translate(singular if n == 1 else plural, n=n, **values)

    env.install_gettext_callables(translate, ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.globals.update(lang=lang, languages=LANGUAGES, link_minutes=websignin.LINK_MINUTES)
    env.filters.update(
        num=lambda value: format_number(value, lang),
        vnd=lambda value: format_vnd(round(value), lang),
        pct=lambda value: format_percent(value, "#,##0%", locale=lang),
        mean=lambda value: format_decimal(one_decimal(value), "#,##0.0", locale=lang),
        day=lambda value: format_day(value, lang),
        area=lambda code: area_name(code, lang),
        sector=lambda code: sector_name(code, lang),
        province=lambda code: province_name(code, lang),
        period=lambda period: period_title(period, lang),
    )
    return env


@dataclass(frozen=True)
class Viewer:
    contact: Contact
    session: auth.Session
    language: str

    @property
    def coordinator(self) -> bool:
        return self.contact.role == Role.COORDINATOR


@dataclass(frozen=True)
class Filters:
    """The chat's summary filters, read from the query string; anything unknown is dropped,
    and staff are held to their own provider whatever the address says."""

    period: str
    provider_id: int | None
    province_code: str | None
    sector_code: str | None
    area_code: str | None

    @classmethod
    def read(cls, request: Request, viewer: Viewer) -> Filters:
        query = request.query_params
        period = query.get("period") or "this_month"
        provider_id: int | None = None
        if viewer.coordinator:
            raw = query.get("provider") or ""
            provider_id = int(raw) if raw.isdigit() else None
        else:
            provider_id = viewer.contact.provider_id
        province, sector, area = query.get("province"), query.get("sector"), query.get("area")
        return cls(
            period=period if period in RELATIVE_PERIODS else "this_month",
            provider_id=provider_id,
            province_code=province if content.province(province) else None,
            sector_code=sector if content.sector(sector) else None,
            area_code=area if content.area(area) else None,
        )

    def scope(self) -> Scope:
        return Scope(self.provider_id, self.province_code, self.sector_code, self.area_code)

    def query(self, **extra: str) -> str:
        values = {
            "period": self.period,
            "provider": self.provider_id or "",
            "province": self.province_code or "",
            "sector": self.sector_code or "",
            "area": self.area_code or "",
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


class Dashboard:
    def __init__(
        self, database: Database, settings: Settings, clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock

    # -- people ------------------------------------------------------------------------------

    def _viewer(self, request: Request, db: DbSession) -> Viewer | None:
        session = auth.load_session(self.settings, request.cookies.get(auth.COOKIE))
        if session is None or session.expired(self.clock()):
            return None
        contact = db.get(Contact, session.contact_id)
        if not websignin.may_use_dashboard(contact):
            return None
        assert contact is not None
        language = normalise_language(session.language or contact.language)
        return Viewer(contact, session, language)

    def _page(
        self,
        request: Request,
        viewer: Viewer | None,
        template: str,
        *,
        status: int = 200,
        language: str | None = None,
        **values: Any,
    ) -> HTMLResponse:
        lang = viewer.language if viewer else normalise_language(language)
        base = request.scope.get("root_path", "")
        html = (
            environment(lang)
            .get_template(template)
            .render(
                base=base,
                viewer=viewer,
                here=request.url.path,
                here_full=str(request.url.path)
                + (f"?{request.url.query}" if request.url.query else ""),
                form_token=auth.form_token(self.settings, viewer.session) if viewer else "",
                **values,
            )
        )
        return HTMLResponse(html, status_code=status)

    def _signed_out(self, request: Request) -> HTMLResponse:
        return self._page(
            request,
            None,
            "signed_out.html.j2",
            status=401,
            language=self.settings.default_language,
            reason="session",
        )

    def _forbidden(self, request: Request, viewer: Viewer) -> HTMLResponse:
        return self._page(request, viewer, "not_found.html.j2", status=404)

    # -- sign-in -----------------------------------------------------------------------------

    def _sign_in(self, request: Request, token: str, *, confirmed: bool) -> Response:
        """Opening the link asks to confirm; the button signs in and spends the link. Chat
        apps' link previews and mail scanners open links too: a GET alone spends nothing."""
        link_id = auth.link_id_of(self.settings, token)
        now = self.clock()
        try:
            if link_id is None:
                raise ProgrammeError("unknown_link")
            with self.database.session() as db:
                if not confirmed:
                    person = websignin.holder(db, link_id, now=now)
                    return self._page(
                        request, None, "signin.html.j2", language=person.language,
                        name=person.display_name, token=token,
                    )  # fmt: skip
                contact_id = websignin.redeem(db, link_id, now=now).id
        except ProgrammeError as error:
            return self._page(
                request,
                None,
                "signed_out.html.j2",
                status=403,
                language=self.settings.default_language,
                reason=error.code,
            )
        assert contact_id is not None
        session = auth.new_session(contact_id, now)
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/", status_code=303)
        self._set_cookie(request, response, session)
        return response

    def _set_cookie(self, request: Request, response: Response, session: auth.Session) -> None:
        response.set_cookie(
            auth.COOKIE,
            auth.dump_session(self.settings, session),
            max_age=auth.SESSION_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path=request.scope.get("root_path", "") or "/",
        )

    async def sign_in(self, request: Request) -> Response:
        if request.method == "POST":
            token = str((await request.form()).get("t") or "")
            return await run_in_threadpool(self._sign_in, request, token, confirmed=True)
        token = request.query_params.get("t", "")
        return await run_in_threadpool(self._sign_in, request, token, confirmed=False)

    async def sign_out(self, request: Request) -> Response:
        response = self._page(
            request, None, "signed_out.html.j2", language=self.settings.default_language,
            reason="signed_out",
        )  # fmt: skip
        response.delete_cookie(auth.COOKIE, path=request.scope.get("root_path", "") or "/")
        return response

    async def language(self, request: Request) -> Response:
        form = await request.form()
        with self.database.session() as db:
            viewer = self._viewer(request, db)
        if viewer is None:
            return self._signed_out(request)
        target = str(form.get("next") or "")
        base = request.scope.get("root_path", "")
        if not target.startswith(f"{base}/") or target.startswith("//"):
            target = f"{base}/"
        response = RedirectResponse(target, status_code=303)
        chosen = normalise_language(str(form.get("language") or ""))
        session = auth.Session(
            viewer.session.contact_id, viewer.session.issued, viewer.session.nonce, chosen
        )
        self._set_cookie(request, response, session)
        return response

    # -- pages -------------------------------------------------------------------------------

    def _summary(self, db: DbSession, filters: Filters) -> Summary:
        today = self.clock().astimezone(self.settings.tz).date()
        return build_summary(
            db,
            period=relative_period(filters.period, today),
            scope=filters.scope(),
            tz=self.settings.tz,
            today=today,
        )

    def _trend(self, db: DbSession, filters: Filters) -> list[Summary]:
        """The same scope over the last TREND_QUARTERS quarters, oldest first: read from the
        rollups, so four summaries cost about what one does."""
        today = self.clock().astimezone(self.settings.tz).date()
        year, quarter = today.year, (today.month - 1) // 3 + 1
        periods = []
        for _ in range(TREND_QUARTERS):
            periods.append(quarter_period(year, quarter))
            year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
        return [
            build_summary(
                db, period=period, scope=filters.scope(), tz=self.settings.tz, today=today
            )
            for period in reversed(periods)
        ]

    def _filter_choices(self, db: DbSession, viewer: Viewer) -> dict[str, Any]:
        lang = viewer.language
        return {
            "periods": RELATIVE_PERIODS,
            "providers": [(p.id, p.name) for p in providers(db)] if viewer.coordinator else [],
            "provinces": [(p.code, p.name(lang)) for p in content.provinces()],
            "sectors": [(s.code, s.label(lang)) for s in content.sectors()],
            "areas": [(a.code, a.label(lang)) for a in content.areas()],
        }

    def _overview(self, request: Request) -> Response:
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            filters = Filters.read(request, viewer)
            summary = self._summary(db, filters)
            trend = self._trend(db, filters)
            choices = self._filter_choices(db, viewer)
        charts = [
            (chart.title, "data:image/png;base64," + base64.b64encode(chart.png).decode())
            for chart in summary_charts(summary, viewer.language)
        ]
        return self._page(
            request,
            viewer,
            "overview.html.j2",
            s=summary,
            filters=filters,
            choices=choices,
            charts=charts,
            trend=trend,
            visits=visit_totals(summary),
            period_text=period_title(summary.period, viewer.language),
        )

    async def overview(self, request: Request) -> Response:
        return await run_in_threadpool(self._overview, request)

    def _enterprises(self, request: Request) -> Response:
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            filters = Filters.read(request, viewer)
            search = (request.query_params.get("q") or "").strip()[:100]
            page = request.query_params.get("page") or "1"
            number = int(page) if page.isdigit() and int(page) > 0 else 1
            rows, total = board.enterprise_states(
                db,
                viewer.contact,
                search=search or None,
                province_code=filters.province_code,
                sector_code=filters.sector_code,
                provider_id=filters.provider_id,
                offset=(number - 1) * board.PAGE,
            )
            choices = self._filter_choices(db, viewer)
        return self._page(
            request,
            viewer,
            "enterprises.html.j2",
            rows=rows,
            total=total,
            search=search,
            filters=filters,
            choices=choices,
            page=number,
            pages=max(1, -(-total // board.PAGE)),
            tz=self.settings.tz,
            today=self.clock().astimezone(self.settings.tz).date(),
        )

    async def enterprises(self, request: Request) -> Response:
        return await run_in_threadpool(self._enterprises, request)

    def _enterprise(self, request: Request, *, status: int = 200, **extra: Any) -> Response:
        enterprise_id = int(request.path_params["enterprise_id"])
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            try:
                found = board.history(db, viewer.contact, enterprise_id)
            except ProgrammeError:
                return self._forbidden(request, viewer)
            names = _reporter_names(db, found.reports)
        return self._page(
            request,
            viewer,
            "enterprise.html.j2",
            status=status,
            h=found,
            names=names,
            tz=self.settings.tz,
            moment=lambda value: format_moment(value, viewer.language, self.settings.tz),
            notice=_notice(request, viewer.language),
            error=extra.get("error"),
            error_for=extra.get("error_for"),
            draft=extra.get("draft", ""),
            media=self._has_photo,
            today=self.clock().astimezone(self.settings.tz).date(),
        )

    async def enterprise(self, request: Request) -> Response:
        return await run_in_threadpool(self._enterprise, request)

    def _has_photo(self, path: str | None) -> bool:
        return bool(path) and (self.settings.media_dir / str(path)).is_file()

    def _photo(self, request: Request) -> Response:
        slot = request.path_params["slot"]
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            improvement = db.get(Improvement, int(request.path_params["improvement_id"]))
            try:
                if improvement is None or slot not in PHOTO_SLOTS:
                    raise ProgrammeError("unknown_report")
                board.visible_enterprise(db, viewer.contact, improvement.enterprise_id)
            except ProgrammeError:
                return self._forbidden(request, viewer)
            path = getattr(improvement, f"photo_{slot}_path")
        if not self._has_photo(path):
            return Response(status_code=404)
        return FileResponse(
            self.settings.media_dir / str(path), headers={"Cache-Control": "private, max-age=3600"}
        )

    async def photo(self, request: Request) -> Response:
        return await run_in_threadpool(self._photo, request)

    def _review(self, request: Request, *, status: int = 200, **extra: Any) -> Response:
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            waiting = board.review_queue(db, viewer.contact)
            names = _reporter_names(db, [board.Report(w.improvement, [], None) for w in waiting])
        return self._page(
            request,
            viewer,
            "review.html.j2",
            status=status,
            waiting=waiting,
            names=names,
            moment=lambda value: format_moment(value, viewer.language, self.settings.tz),
            notice=_notice(request, viewer.language),
            error=extra.get("error"),
            error_for=extra.get("error_for"),
            draft=extra.get("draft", ""),
            media=self._has_photo,
        )

    async def review(self, request: Request) -> Response:
        return await run_in_threadpool(self._review, request)

    async def decide(self, request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(self._decide, request, dict(form))

    def _decide(self, request: Request, form: dict[str, Any]) -> Response:
        """Verify, good practice or a question: the chat's domain calls and notices. A refusal
        rolls the whole unit back and shows the page again with what was typed."""
        improvement_id = int(request.path_params["improvement_id"])
        text = str(form.get("text") or "")
        back = "enterprise" if form.get("back") == "enterprise" else "review"
        viewer: Viewer | None = None
        enterprise_id: int | None = None
        try:
            with self.database.session() as db:
                viewer = self._viewer(request, db)
                if viewer is None:
                    return self._signed_out(request)
                if not auth.form_token_ok(self.settings, viewer.session, form.get("token")):
                    return self._page(request, viewer, "not_found.html.j2", status=403)
                improvement = imp.reviewable(db, improvement_id, viewer.contact)
                enterprise_id = improvement.enterprise_id
                notice = self._act(db, viewer, str(form.get("action") or ""), improvement, text)
        except ProgrammeError as error:
            assert viewer is not None
            if enterprise_id is None:  # not a report this person may see: say nothing of it
                return self._forbidden(request, viewer)
            _ = translator(viewer.language)
            typed = error.code in ("text_too_long", "text_too_short", "text_empty")
            message = message_error(_, error) if typed else refusal_text(_, error)
            render = self._review
            if back == "enterprise":
                request.path_params["enterprise_id"] = enterprise_id
                render = self._enterprise
            return render(
                request, status=400 if typed else 409, error=message,
                error_for=improvement_id, draft=text,
            )  # fmt: skip
        base = request.scope.get("root_path", "")
        target = f"{base}/enterprises/{enterprise_id}" if back == "enterprise" else f"{base}/review"
        return RedirectResponse(f"{target}?done={notice}#report-{improvement_id}", 303)

    def _act(
        self, db: DbSession, viewer: Viewer, action: str, improvement: Improvement, text: str
    ) -> str:
        now = self.clock()
        assert improvement.id is not None
        if action in ("verify", "good"):
            decision = imp.Review.VERIFY if action == "verify" else imp.Review.GOOD_PRACTICE
            done = imp.review(
                db, improvement.id, reviewer=viewer.contact, decision=decision, now=now
            )
            if not done.changed:
                raise ProgrammeError("already_reviewed", status=done.improvement.status)
            notify_reporter_reviewed(db, done.improvement, now=now)
            if action == "good" and not imp.publishable(done.improvement):
                return "good_private"
            return action
        if action == "ask":
            question = imp.ask(db, improvement.id, reviewer=viewer.contact, text=text, now=now)
            relay_question(db, question, now=now)
            return "asked"
        raise ProgrammeError("unknown_action")

    def _providers(self, request: Request) -> Response:
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            if not viewer.coordinator:
                return self._page(request, viewer, "not_found.html.j2", status=403)
            filters = Filters.read(request, viewer)
            filters = Filters(filters.period, None, filters.province_code, filters.sector_code,
                              filters.area_code)  # fmt: skip
            summary = self._summary(db, filters)
            choices = self._filter_choices(db, viewer)
        return self._page(
            request,
            viewer,
            "providers.html.j2",
            s=summary,
            filters=filters,
            choices=choices,
            period_text=period_title(summary.period, viewer.language),
        )

    async def providers_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._providers, request)

    def _exports(self, request: Request) -> Response:
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            filters = Filters.read(request, viewer)
            choices = self._filter_choices(db, viewer)
        today = self.clock().astimezone(self.settings.tz).date()
        return self._page(
            request,
            viewer,
            "exports.html.j2",
            filters=filters,
            choices=choices,
            period_text=period_title(relative_period(filters.period, today), viewer.language),
        )

    async def exports(self, request: Request) -> Response:
        return await run_in_threadpool(self._exports, request)

    def _download(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        with self.database.session() as db:
            viewer = self._viewer(request, db)
            if viewer is None:
                return self._signed_out(request)
            if kind not in EXPORTS:
                return self._forbidden(request, viewer)
            filters = Filters.read(request, viewer)
            summary = self._summary(db, filters)
            with tempfile.TemporaryDirectory(prefix="oshbot-web-") as folder:
                workbook, _, archive = export_files(
                    db, summary=summary, tz=self.settings.tz, language=viewer.language,
                    out=Path(folder),
                )  # fmt: skip
                chosen = workbook if kind == "xlsx" else archive
                data, name = chosen.read_bytes(), chosen.name
        return Response(
            data,
            media_type=EXPORTS[kind],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def download(self, request: Request) -> Response:
        return await run_in_threadpool(self._download, request)


def _reporter_names(db: DbSession, reports: list[board.Report]) -> dict[int, str | None]:
    """Employers by name; anyone else only by role (None), as the chat's report card does."""
    ids = {r.improvement.reporter_id for r in reports if r.improvement.reporter_id}
    names: dict[int, str | None] = {}
    for contact_id in ids:
        contact = db.get(Contact, contact_id)
        if contact is not None and contact.erased_at is None and contact.role == Role.EMPLOYER:
            names[contact_id] = contact.display_name or "—"
    return names


def _notice(request: Request, language: str) -> str | None:
    _ = translator(language)
    done = request.query_params.get("done")
    return {
        "verify": _("Verified. Thank you!"),
        "good": _("Marked as a good practice. It can now go to the library."),
        "good_private": _(
            "Marked as a good practice. The enterprise did not agree to share it, so it "
            "stays out of the library, newsletters and the website."
        ),
        "asked": _("Your question was sent. The answer will come to you in the chat."),
    }.get(done or "")


def routes(
    database: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> list[BaseRoute]:
    """The dashboard's routes, to be mounted at /dashboard (see `mount`)."""
    d = Dashboard(database, settings, clock)
    return [
        Route("/", d.overview, name="overview"),
        Route("/signin", d.sign_in, methods=["GET", "POST"], name="signin"),
        Route("/signout", d.sign_out, methods=["POST"], name="signout"),
        Route("/language", d.language, methods=["POST"], name="language"),
        Route("/enterprises", d.enterprises, name="enterprises"),
        Route("/enterprises/{enterprise_id:int}", d.enterprise, name="enterprise"),
        Route("/photos/{improvement_id:int}/{slot}", d.photo, name="photo"),
        Route("/review", d.review, name="review"),
        Route("/review/{improvement_id:int}", d.decide, methods=["POST"], name="decide"),
        Route("/providers", d.providers_page, name="providers"),
        Route("/exports", d.exports, name="exports"),
        Route("/exports/{kind}", d.download, name="download"),
    ]


def mount(
    database: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> Mount:
    """What `oshbot serve` adds to its routes: sign-in links point at /dashboard/signin."""
    return Mount("/dashboard", routes=routes(database, settings, clock=clock), name="dashboard")
