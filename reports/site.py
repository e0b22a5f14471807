"""`oshbot site build`: a static website of the programme, in Vietnamese and English.

Plain files that any web host serves (or that open straight from the disk): a home page with
the programme's public figures (aggregates only; groups under MIN_GROUP are not shown), the
good-practice gallery with one pre-rendered page per filter (technical area, province) so that
filtering works without JavaScript, a page per technical area and one per good practice.

    out/index.html                      language choice (goes to vi/ by itself)
    out/assets/site.css
    out/media/<id>-before.jpg, <id>-after.jpg
    out/<lang>/index.html               home and figures
    out/<lang>/gallery/index.html       every good practice
    out/<lang>/gallery/area-<code>.html, province-<code>.html
    out/<lang>/areas/<code>.html
    out/<lang>/practices/<id>.html
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import LANGUAGES, format_number
from models import content, goodpractice
from models.tables import Enterprise, Provider
from reports import publish
from reports.summary import MIN_GROUP, Period, Scope, build_summary

START_OF_TIME = date(2000, 1, 1)


@dataclass
class Built:
    out: Path
    pages: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """A published count, or None when the group is too small to show."""

    label: str
    value: int | None


def shown(value: int) -> int | None:
    return value if value >= MIN_GROUP else None


def public_figures(session: Session, *, tz: ZoneInfo, today: date) -> dict[str, object]:
    """Programme-wide aggregates since the start; breakdowns suppress groups under MIN_GROUP."""
    summary = build_summary(
        session,
        period=Period(START_OF_TIME, today, "all"),
        scope=Scope(),
        tz=tz,
        today=today,
        rollups=False,  # exact, whatever the state of the rollup tables
    )
    providers = session.exec(
        select(sa.func.count(col(Provider.id))).where(col(Provider.active))
    ).one()
    provinces = session.exec(
        select(sa.func.count(sa.distinct(col(Enterprise.province_code))))
    ).one()
    risk = summary.risk
    return {
        "providers": int(providers),
        "provinces": int(provinces),
        "enterprises": summary.enterprises.in_programme,
        "improvements": summary.improvements.total,
        "verified": summary.improvements.verified,
        "good_practices": summary.improvements.good_practice,
        "workers": summary.improvements.workers_benefiting,
        "risk_rated": risk.rated,
        "risk_before": risk.mean_before if risk.rated >= MIN_GROUP else None,
        "risk_after": risk.mean_after if risk.rated >= MIN_GROUP else None,
        "areas": [
            (a.area_code, shown(a.improvements)) for a in summary.areas if a.area_code is not None
        ],
        "by_province": [
            (g.code, shown(g.enterprises), shown(g.improvements)) for g in summary.provinces
        ],
    }


def copy_photos(entries: list[goodpractice.Entry], media: Path) -> dict[int, dict[str, str]]:
    """Scaled copies of the photos in out/media; returns {entry id: {"before"/"after": name}}."""
    media.mkdir(parents=True, exist_ok=True)
    names: dict[int, dict[str, str]] = {}
    for entry in entries:
        for kind, path in (("before", entry.photo_before_path), ("after", entry.photo_after_path)):
            found = publish.photo(path)
            if found is not None:
                name = f"{entry.id}-{kind}{found.suffix}"
                (media / name).write_bytes(found.data)
                names.setdefault(entry.id, {})[kind] = name
    return names


def build_site(
    session: Session,
    out: Path,
    *,
    tz: ZoneInfo,
    today: date,
    link: str,
    media_root: Path | None = None,
) -> Built:
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("vi", "en", "media", "assets"):  # a rebuild leaves no withdrawn entry behind
        shutil.rmtree(out / stale, ignore_errors=True)
    built = Built(out)
    entries = goodpractice.entries(session, media_root=media_root)
    photos = copy_photos(entries, out / "media")
    figures = public_figures(session, tz=tz, today=today)
    areas = content.areas()
    provinces = [p for code in goodpractice.provinces_with_entries(session)
                 if (p := content.province(code)) is not None]  # fmt: skip
    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "assets" / "site.css").write_text(
        publish.render("site/site.css.j2", "vi"), encoding="utf-8"
    )

    def page(language: str, path: str, template: str, **values: object) -> None:
        depth = path.count("/")
        root = "../" * (depth + 1)  # from out/<lang>/<path> back to out/
        other = next(lang for lang in LANGUAGES if lang != language)
        html = publish.render(
            f"site/{template}",
            language,
            root=root,
            here=f"{root}{language}/",
            path=path,
            switch=f"{root}{other}/{path}",
            other=other,
            areas=areas,
            provinces=provinces,
            photos=photos,
            link=link,
            today=today,
            n=lambda value: format_number(value, language),
            **values,
        )
        target = out / language / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        built.pages.append(target)

    for language in LANGUAGES:
        page(language, "index.html", "home.html.j2", figures=figures,
             latest=entries[:3], qr=publish.qr_uri(link))  # fmt: skip
        page(language, "gallery/index.html", "gallery.html.j2", entries=entries, active=None)
        for area in areas:
            chosen = [e for e in entries if e.area_code == area.code]
            page(language, f"gallery/area-{area.code}.html", "gallery.html.j2",
                 entries=chosen, active=("area", area.code))  # fmt: skip
            page(language, f"areas/{area.code}.html", "area.html.j2", area=area,
                 entries=chosen, tips=content.tips(area=area.code))  # fmt: skip
        for province in provinces:
            chosen = [e for e in entries if e.province_code == province.code]
            page(language, f"gallery/province-{province.code}.html", "gallery.html.j2",
                 entries=chosen, active=("province", province.code))  # fmt: skip
        for entry in entries:
            page(language, f"practices/{entry.id}.html", "practice.html.j2", entry=entry)
    root_page = publish.render("site/root.html.j2", "vi")
    (out / "index.html").write_text(root_page, encoding="utf-8")
    built.pages.append(out / "index.html")
    return built
