"""The summary's three charts as PNG: improvements per area, risk before and after per area,
employers' and workers' ratings side by side.

matplotlib's object API on the Agg canvas (no pyplot state, so concurrent handlers cannot draw
into each other's figures). DejaVu Sans ships with matplotlib and has every Vietnamese
diacritic. Worker ratings resting on fewer than MIN_GROUP respondents are not drawn: the chart
says "too few answers to show" in their place, as the messages and the files do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before anything else touches matplotlib: no display on servers

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import normalise_language, translator
from reports.summary import Rating, Summary
from reports.text import area_name, one_decimal, period_title

FONT = "DejaVu Sans"
BLUE, LIGHT_BLUE, ORANGE, GREEN, GREY = "#1f5f99", "#8fb8de", "#e07b39", "#3a9a5b", "#777777"
SIZE = (8.0, 4.8)
DPI = 110


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: improvements_per_area, risk_per_area, ratings
    title: str
    png: bytes


def _figure() -> Figure:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _mean(value: float, language: str) -> str:
    text = str(one_decimal(value))
    return text.replace(".", ",") if language == "vi" else text


def _empty(axes, text: str) -> None:  # type: ignore[no-untyped-def]
    axes.axis("off")
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=13, color=GREY, wrap=True)


def improvements_per_area(summary: Summary, language: str) -> Chart:
    lang = normalise_language(language)
    _ = translator(lang)
    title = _(
        "Improvements per technical area, {period}", period=period_title(summary.period, lang)
    )
    figure = _figure()
    axes = figure.add_subplot()
    areas = list(reversed(summary.areas))  # largest on top
    if not areas:
        _empty(axes, _("No improvements reported in this period"))
    else:
        labels = [area_name(a.area_code, lang) for a in areas]
        verified = [a.verified for a in areas]
        other = [a.improvements - a.verified for a in areas]
        axes.barh(labels, verified, color=BLUE, label=_("verified"))
        axes.barh(labels, other, left=verified, color=LIGHT_BLUE, label=_("not yet verified"))
        for index, area in enumerate(areas):
            axes.text(area.improvements, index, f" {area.improvements}", va="center")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(_("improvements"))
        axes.margins(x=0.12)
        axes.legend(loc="lower right", frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(title, fontsize=12, loc="left")
    return Chart("improvements_per_area", title, _png(figure))


def risk_per_area(summary: Summary, language: str) -> Chart:
    lang = normalise_language(language)
    _ = translator(lang)
    title = _("Risk score before and after, per technical area (1–9)")
    figure = _figure()
    axes = figure.add_subplot()
    rated = [a for a in summary.areas if a.risk.rated]
    if not rated:
        _empty(axes, _("No improvement rated before and after in this period"))
    else:
        labels = [f"{area_name(a.area_code, lang)}\n(n = {a.risk.rated})" for a in rated]
        positions = range(len(rated))
        width = 0.38
        before = [a.risk.mean_before or 0 for a in rated]
        after = [a.risk.mean_after or 0 for a in rated]
        bars = axes.bar(
            [p - width / 2 for p in positions], before, width, color=ORANGE, label=_("before")
        )
        bars_after = axes.bar(
            [p + width / 2 for p in positions], after, width, color=GREEN, label=_("after")
        )
        for group in (bars, bars_after):
            axes.bar_label(group, labels=[_mean(b.get_height(), lang) for b in group], padding=2)
        axes.axhline(6, color=GREY, linewidth=0.8, linestyle="--")
        axes.text(len(rated) - 0.5, 6.1, _("high risk (6–9)"), ha="right", fontsize=8, color=GREY)
        axes.set_xticks(list(positions), labels, fontsize=8)
        axes.set_ylim(0, 9.5)
        axes.set_ylabel(_("mean risk score"))
        axes.legend(loc="upper right", frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(title, fontsize=12, loc="left")
    return Chart("risk_per_area", title, _png(figure))


def ratings(summary: Summary, language: str) -> Chart:
    lang = normalise_language(language)
    _ = translator(lang)
    title = _("What employers and workers say (answers 1–5)")
    figure = _figure()
    axes = figure.add_subplot()
    series: list[tuple[str, Rating, str]] = [
        (_("Employers: the support was useful"), summary.employers.usefulness, BLUE),
        (_("Workers: work is safer"), summary.workers.safer, GREEN),
        (_("Workers: work is less tiring"), summary.workers.less_tiring, ORANGE),
    ]
    if not any(rating.n for _, rating, _ in series):
        _empty(axes, _("No survey answers in this period"))
    else:
        width = 0.26
        hidden = []
        for index, (label, rating, colour) in enumerate(series):
            offset = (index - 1) * width
            if not rating.shown:
                hidden.append(label)
                continue
            shares = [count / rating.n if rating.n else 0 for count in rating.distribution]
            mean = f", {_mean(rating.mean, lang)}" if rating.mean is not None else ""
            axes.bar(
                [score + offset for score in range(1, 6)],
                [s * 100 for s in shares],
                width,
                color=colour,
                label=f"{label} (n = {rating.n}{mean})",
            )
        for line, label in enumerate(hidden):
            note = _("{label}: too few answers to show", label=label)
            axes.text(
                0.02,
                0.95 - 0.07 * line,
                note,
                transform=axes.transAxes,
                fontsize=9,
                color=GREY,
                va="top",
            )
        axes.set_xticks(range(1, 6))
        axes.set_xlabel(_("answer (1 = not at all, 5 = very much)"))
        axes.set_ylabel(_("% of respondents"))
        axes.set_ylim(0, 110)
        if len(hidden) < len(series):
            axes.legend(
                loc="upper left",
                bbox_to_anchor=(0, 0.8 - 0.07 * len(hidden)),
                frameon=False,
                fontsize=9,
            )
        axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(title, fontsize=12, loc="left")
    return Chart("ratings", title, _png(figure))


def summary_charts(summary: Summary, language: str) -> list[Chart]:
    return [
        improvements_per_area(summary, language),
        risk_per_area(summary, language),
        ratings(summary, language),
    ]
