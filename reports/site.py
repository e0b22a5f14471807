"""`oshbot site build`: a static website of the programme, in Vietnamese and English.

Plain files that any web host serves (or that open straight from the disk): a home page with
the programme's public figures (totals of improvements, enterprises and workers benefiting,
shown as they are: only survey answers are withheld under MIN_GROUP, and the site shows none),
the good-practice gallery with one pre-rendered page per filter (technical area, province) so
that filtering works without JavaScript, a page per technical area (with its kinds of
improvement and how many of each were made and effective) and one per good practice.
Every page carries Open Graph tags, so that a link shared in Zalo or Facebook previews with its
title, a sentence and a photo; previews need absolute addresses, so `og:url` and `og:image`
are written when the site's public address (OSHBOT_SITE_URL) is known.

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
from textwrap import shorten
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.i18n import LANGUAGES, format_number, translator
from models import content, goodpractice
from models.tables import Enterprise, Provider
from reports import publish
from reports.figures import Period, Scope
from reports.summary import build_summary

START_OF_TIME = date(2000, 1, 1)


@dataclass
class Built:
    out: Path
    pages: list[Path] = field(default_factory=list)


def public_figures(session: Session, *, tz: ZoneInfo, today: date) -> dict[str, object]:
    """Programme-wide aggregates since the start. Counts of improvements and enterprises are
    shown as they are, small or not: the small-group rule protects survey answers."""
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
    kinds: dict[str, dict[str, tuple[int, int]]] = {}
    for k in summary.kinds:
        if k.area_code is not None and k.kind_code is not None:
            kinds.setdefault(k.area_code, {})[k.kind_code] = (k.improvements, k.effective)
    return {
        "providers": int(providers),
        "provinces": int(provinces),
        "enterprises": summary.enterprises.in_programme,
        "improvements": summary.improvements.total,
        "verified": summary.improvements.verified,
        "good_practices": summary.improvements.good_practice,
        "workers": summary.improvements.workers_benefiting,
        "risk_rated": risk.rated,
        "risk_before": risk.mean_before,
        "risk_after": risk.mean_after,
        "areas": [(a.area_code, a.improvements) for a in summary.areas if a.area_code is not None],
        # {area: {kind: (improvements, effective)}}: the area pages list every kind with these.
        "kinds": kinds,
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
    site_url: str | None = None,
) -> Built:
    """`site_url`: the site's public address, for the absolute addresses of link previews."""
    out.mkdir(parents=True, exist_ok=True)
    base_url = site_url.rstrip("/") + "/" if site_url else None
    for stale in ("vi", "en", "media", "assets"):  # a rebuild leaves no withdrawn entry behind
        shutil.rmtree(out / stale, ignore_errors=True)
    built = Built(out)
    entries = goodpractice.entries(session, media_root=media_root)
    photos = copy_photos(entries, out / "media")
    figures = public_figures(session, tz=tz, today=today)
    kind_counts: dict[str, dict[str, tuple[int, int]]] = figures["kinds"]  # type: ignore[assignment]
    areas = content.areas()
    provinces = [p for code in goodpractice.provinces_with_entries(session)
                 if (p := content.province(code)) is not None]  # fmt: skip
    with_photo = [e for e in entries if photos.get(e.id)]

    def picture(chosen: list[goodpractice.Entry]) -> str | None:
        """The preview photo of a page: its first good practice with a photo, else the site's."""
        found = next((e for e in chosen if photos.get(e.id)), None) or next(iter(with_photo), None)
        if found is None:
            return None
        names = photos[found.id]
        return names.get("after") or names.get("before")

    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "assets" / "site.css").write_text(
        publish.render("site/site.css.j2", "vi"), encoding="utf-8"
    )

    def page(
        language: str,
        path: str,
        template: str,
        *,
        description: str,
        image: str | None,
        kind: str = "website",
        **values: object,
    ) -> None:
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
            titles=publish.headlines(entries, language),
            og={
                "description": description,
                "type": kind,
                "url": f"{base_url}{language}/{path}" if base_url else None,
                "image": f"{base_url}media/{image}" if base_url and image else None,
            },
            **values,
        )
        target = out / language / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        built.pages.append(target)

    for language in LANGUAGES:
        _ = translator(language)
        intro = _(
            "Small and medium enterprises in the programme improve their workplaces step by "
            "step, starting from what already works, with low-cost ideas from their own "
            "workers. Here is what they have achieved so far."
        )
        gallery = _(
            "Improvements that staff verified and that the enterprise agreed to share. Choose "
            "a technical area or a province:"
        )
        page(language, "index.html", "home.html.j2", description=intro, image=picture(entries),
             figures=figures, latest=entries[:3], qr=publish.qr_uri(link))  # fmt: skip
        page(language, "gallery/index.html", "gallery.html.j2", description=gallery,
             image=picture(entries), entries=entries, active=None)  # fmt: skip
        for area in areas:
            chosen = [e for e in entries if e.area_code == area.code]
            page(language, f"gallery/area-{area.code}.html", "gallery.html.j2",
                 description=gallery, image=picture(chosen), entries=chosen,
                 active=("area", area.code))  # fmt: skip
            page(language, f"areas/{area.code}.html", "area.html.j2",
                 description=area.description(language), image=picture(chosen), area=area,
                 entries=chosen, tips=content.tips(area=area.code),
                 kinds=content.kinds(area.code),
                 kind_counts=kind_counts.get(area.code, {}))  # fmt: skip
        for province in provinces:
            chosen = [e for e in entries if e.province_code == province.code]
            page(language, f"gallery/province-{province.code}.html", "gallery.html.j2",
                 description=gallery, image=picture(chosen), entries=chosen,
                 active=("province", province.code))  # fmt: skip
        for entry in entries:
            page(language, f"practices/{entry.id}.html", "practice.html.j2",
                 description=shorten(entry.text, 200, placeholder=" …"),
                 image=picture([entry]) if photos.get(entry.id) else None, kind="article",
                 entry=entry)  # fmt: skip
    root_page = publish.render("site/root.html.j2", "vi")
    (out / "index.html").write_text(root_page, encoding="utf-8")
    built.pages.append(out / "index.html")
    return built
