"""Usage charts drawn on the server: numbers in, SVG geometry out, so the chart
reads the same with JavaScript off (the template writes the <svg>)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[tuple[float, str]]  # (x, text) under a few bars
    total: int
    peak: int
    baseline: float
    left: int

    @property
    def total_text(self) -> str:
        return f"{self.total:,}"

    @property
    def peak_text(self) -> str:
        return f"{self.peak:,}"

    def svg(self) -> SafeString:
        """The chart's <svg>, written here rather than in a template loop: 30 bars
        with their labels are ~150 template variables, most of a page's render time."""
        parts = [
            f'<svg viewBox="0 0 {self.width} {self.height}" role="img" '
            'aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMidYMid meet">',
            '<title id="chart-title">Requests per day, last 30 days</title>',
            f'<desc id="chart-desc">{self.total_text} requests in total; '
            f"the busiest day had {self.peak_text}.</desc>",
        ]
        for tick in self.ticks:
            parts.append(
                f'<line class="grid" x1="{self.left}" x2="{self.width}" y1="{tick.y}" '
                f'y2="{tick.y}"></line><text class="axis" x="{self.left - 6}" y="{tick.y}" '
                f'text-anchor="end" dominant-baseline="middle">{escape(tick.label)}</text>'
            )
        for bar in self.bars:
            plural = "" if bar.count == 1 else "s"
            parts.append(
                f'<rect class="bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" '
                f'height="{bar.height}"><title>{bar.day:%a %-d %b}: {bar.count:,} '
                f"request{plural}</title></rect>"
            )
        for x, text in self.labels:
            parts.append(
                f'<text class="axis" x="{x}" y="{self.height - 8}" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is a number or escaped

    def table_rows(self) -> SafeString:
        """The same numbers as table rows, for screen readers and copying."""
        return mark_safe(  # noqa: S308 - dates and integers only
            "".join(
                f"<tr><td>{bar.day:%Y-%m-%d}</td><td>{bar.count}</td></tr>" for bar in self.bars
            )
        )


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten at or above value (a readable axis top)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000:
        return f"{n / 1_000:g}k"
    return str(n)


def bar_chart(series: list[tuple[date, int]]) -> Chart:
    peak = max((count for _, count in series), default=0)
    top = _nice_ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(series))
    bars = []
    for i, (day, count) in enumerate(series):
        h = plot_h * count / top
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.15, 2),
                y=round(TOP + plot_h - h, 2),
                width=round(slot * 0.7, 2),
                height=round(h, 2),
                day=day,
                count=count,
            )
        )
    ticks = [
        Tick(y=round(TOP + plot_h - plot_h * f, 2), label=_short(int(top * f))) for f in (0, 0.5, 1)
    ]
    every = max(1, len(series) // 6)
    labels = [
        (round(LEFT + i * slot + slot / 2, 2), day.strftime("%b %-d"))
        for i, (day, _count) in enumerate(series)
        if i % every == 0 or i == len(series) - 1
    ]
    if len(labels) >= 2 and labels[-1][0] - labels[-2][0] < slot * every * 0.7:
        labels.pop(-2)  # the last day's label would touch the one before it
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        ticks=ticks,
        labels=labels,
        total=sum(count for _, count in series),
        peak=peak,
        baseline=TOP + plot_h,
        left=LEFT,
    )
