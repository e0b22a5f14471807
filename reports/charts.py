"""The summary's three charts as PNG: improvements per area, risk before and after per area,
employers' and workers' ratings side by side.

Drawn for the screen they are read on: a phone. Chat images are viewed at the width of a phone
(about 390 CSS pixels), so every figure is phone-shaped (narrow and as tall as it needs) and
every text is at least PHONE_TEXT pixels there, which `text_sizes` lets the tests check.
Labels sit above their bars instead of beside them, so long Vietnamese names of areas keep the
full width.

matplotlib's object API on the Agg canvas (no pyplot state, so concurrent handlers cannot draw
into each other's figures). DejaVu Sans ships with matplotlib and has every Vietnamese
diacritic. A rating resting on fewer than MIN_GROUP answers draws no bar: one employer's answer
would be a 100 % bar that says nothing about the programme, and worker answers that few are
withheld altogether. The chart says "too few answers to show" in its place, as the messages and
the files do.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before anything else touches matplotlib: no display on servers

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.text import Text

from bot.i18n import normalise_language, translator
from reports.figures import AreaFigures, Rating, Summary
from reports.text import area_name, one_decimal, period_title

FONT = "DejaVu Sans"
BLUE, LIGHT_BLUE, ORANGE, GREEN, GREY = "#1f5f99", "#8fb8de", "#c4571b", "#2f8a4f", "#5f6b75"
INK = "#1f2933"
WIDTH = 5.4  # inches: phone-shaped
DPI = 200  # 1080 pixels wide: sharp on a phone's 2-3x screen, small as a file
PHONE = 390  # CSS pixels of a phone screen the image is shown across
PHONE_TEXT = 11  # the smallest text, in CSS pixels on that phone
TITLE, TEXT, SMALL = 15, 13, 12  # points; SMALL at DPI on 1080 pixels is 12 CSS pixels at 390
WRAP = 38  # characters of a title line at TITLE points across WIDTH


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: improvements_per_area, risk_per_area, ratings
    title: str
    png: bytes


def _figure(height: float) -> Figure:
    figure = Figure(
        figsize=(WIDTH, height), dpi=DPI, layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08)
    )
    FigureCanvasAgg(figure)
    return figure


def _title(figure: Figure, text: str) -> None:
    figure.suptitle(
        textwrap.fill(text, WRAP), x=0.03, ha="left", fontsize=TITLE, fontweight="bold", color=INK
    )


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _mean(value: float, language: str) -> str:
    text = str(one_decimal(value))
    return text.replace(".", ",") if language == "vi" else text


def _bare(axes: Axes) -> None:
    """No frame and no ticks: the values are written on the bars."""
    axes.set_xticks([])
    axes.set_yticks([])
    for side in ("top", "right", "bottom", "left"):
        axes.spines[side].set_visible(False)


def _empty(figure: Figure, text: str) -> None:
    axes = figure.add_subplot()
    axes.axis("off")
    axes.text(
        0.5, 0.5, textwrap.fill(text, 34), ha="center", va="center", fontsize=TEXT, color=GREY
    )


def text_sizes(figure: Figure) -> list[tuple[str, float]]:
    """Every visible text of the figure with its size in CSS pixels when the image is shown
    PHONE pixels wide."""
    width = figure.get_figwidth() * figure.dpi
    return [
        (text.get_text(), float(text.get_fontsize()) * figure.dpi / 72 * PHONE / width)
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]


def improvements_per_area_figure(summary: Summary, language: str) -> tuple[str, Figure]:
    lang = normalise_language(language)
    _ = translator(lang)
    title = _(
        "Improvements per technical area, {period}", period=period_title(summary.period, lang)
    )
    areas = list(summary.areas)  # largest first, drawn from the top
    figure = _figure(1.5 + 0.8 * max(1, len(areas)))
    _title(figure, title)
    if not areas:
        _empty(figure, _("No improvements reported in this period"))
        return title, figure
    axes = figure.add_subplot()
    rows = list(range(len(areas)))[::-1]
    verified = [a.verified for a in areas]
    other = [a.improvements - a.verified for a in areas]
    axes.barh(rows, verified, height=0.42, color=BLUE, label=_("verified"))
    axes.barh(
        rows, other, height=0.42, left=verified, color=LIGHT_BLUE, label=_("not yet verified")
    )
    for row, area in zip(rows, areas, strict=True):
        axes.text(0, row + 0.27, area_name(area.area_code, lang), fontsize=TEXT, color=INK)
        axes.text(area.improvements, row, f" {area.improvements}", va="center", fontsize=TEXT)
    _bare(axes)
    axes.set_xlim(0, max(a.improvements for a in areas) * 1.15)
    axes.set_ylim(-0.4, len(areas) - 0.25)
    axes.legend(
        loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False, fontsize=SMALL,
        borderaxespad=0.2, handlelength=1.2, columnspacing=1.2,
    )  # fmt: skip
    return title, figure


def risk_per_area_figure(summary: Summary, language: str) -> tuple[str, Figure]:
    lang = normalise_language(language)
    _ = translator(lang)
    title = _("Risk score before and after, per technical area (1–9)")
    rated: list[AreaFigures] = [a for a in summary.areas if a.risk.rated]
    figure = _figure(1.9 + 1.2 * max(1, len(rated)))
    _title(figure, title)
    if not rated:
        _empty(figure, _("No improvement rated before and after in this period"))
        return title, figure
    axes = figure.add_subplot()
    rows = list(range(len(rated)))[::-1]
    for row, area in zip(rows, rated, strict=True):
        before, after = area.risk.mean_before or 0, area.risk.mean_after or 0
        axes.barh(row + 0.1, before, height=0.26, color=ORANGE)
        axes.barh(row - 0.2, after, height=0.26, color=GREEN)
        axes.text(before, row + 0.1, f" {_mean(before, lang)}", va="center", fontsize=SMALL)
        axes.text(after, row - 0.2, f" {_mean(after, lang)}", va="center", fontsize=SMALL)
        label = _(
            "{area} · {count} rated", area=area_name(area.area_code, lang), count=area.risk.rated
        )
        axes.text(0, row + 0.3, label, fontsize=TEXT, color=INK)
    axes.axvline(6, color=GREY, linewidth=1, linestyle="--")
    axes.text(6.1, len(rated) - 0.45, _("high risk (6–9)"), fontsize=SMALL, color=GREY)
    axes.set_xlim(0, 9.6)
    axes.set_ylim(-0.45, len(rated) - 0.2)
    axes.set_yticks([])
    axes.set_xticks(range(0, 10, 3))
    axes.tick_params(axis="x", labelsize=SMALL)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.set_xlabel(_("mean risk score"), fontsize=SMALL)
    handles = [
        Patch(color=ORANGE, label=_("before")),
        Patch(color=GREEN, label=_("after")),
    ]
    axes.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0, 1.02), ncols=2, frameon=False,
        fontsize=SMALL, borderaxespad=0.2, handlelength=1.2,
    )  # fmt: skip
    return title, figure


def ratings_figure(summary: Summary, language: str) -> tuple[str, Figure]:
    lang = normalise_language(language)
    _ = translator(lang)
    title = _("What employers and workers say (answers 1–5)")
    series: list[tuple[str, Rating, str]] = [
        (_("Employers: the support was useful"), summary.employers.usefulness, BLUE),
        (_("Workers: work is safer"), summary.workers.safer, GREEN),
        (_("Workers: work is less tiring"), summary.workers.less_tiring, ORANGE),
    ]
    if not any(rating.n for _label, rating, _colour in series):
        figure = _figure(3.0)
        _title(figure, title)
        _empty(figure, _("No survey answers in this period"))
        return title, figure

    def drawn(rating: Rating) -> bool:
        return rating.shown and rating.n >= summary.min_group and rating.mean is not None

    heights = [2.3 if drawn(rating) else 0.8 for _label, rating, _colour in series]
    figure = _figure(1.5 + sum(heights))
    _title(figure, title)
    grid = figure.add_gridspec(len(series), 1, height_ratios=heights)
    for index, (label, rating, colour) in enumerate(series):
        axes = figure.add_subplot(grid[index])
        if not drawn(rating):
            _bare(axes)
            axes.set_title(label, loc="left", fontsize=TEXT, color=INK)
            axes.text(0, 0.5, _("too few answers to show"), fontsize=SMALL, color=GREY,
                      va="center", transform=axes.transAxes)  # fmt: skip
            continue
        assert rating.mean is not None
        shares = [100 * count / rating.n for count in rating.distribution]
        bars = axes.bar(range(1, 6), shares, width=0.62, color=colour)
        axes.bar_label(bars, labels=[f"{round(s)}%" for s in shares], fontsize=SMALL, padding=2)
        detail = _("{count} answers · mean {mean}", count=rating.n, mean=_mean(rating.mean, lang))
        axes.set_title(f"{label}\n{detail}", loc="left", fontsize=TEXT, color=INK)
        axes.set_ylim(0, 118)
        axes.set_yticks([])
        axes.set_xticks(range(1, 6))
        axes.tick_params(axis="x", labelsize=SMALL, length=0)
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
    figure.supxlabel(
        textwrap.fill(_("answer (1 = not at all, 5 = very much)"), 46), fontsize=SMALL, color=GREY
    )
    return title, figure


def _chart(name: str, drawn: tuple[str, Figure]) -> Chart:
    title, figure = drawn
    return Chart(name, title, _png(figure))


def improvements_per_area(summary: Summary, language: str) -> Chart:
    return _chart("improvements_per_area", improvements_per_area_figure(summary, language))


def risk_per_area(summary: Summary, language: str) -> Chart:
    return _chart("risk_per_area", risk_per_area_figure(summary, language))


def ratings(summary: Summary, language: str) -> Chart:
    return _chart("ratings", ratings_figure(summary, language))


FIGURES = {
    "improvements_per_area": improvements_per_area_figure,
    "risk_per_area": risk_per_area_figure,
    "ratings": ratings_figure,
}


def summary_charts(summary: Summary, language: str) -> list[Chart]:
    return [_chart(name, draw(summary, language)) for name, draw in FIGURES.items()]
