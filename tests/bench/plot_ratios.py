"""Plot the headline benchmark ratios across N as an SVG, from ratios reports.

Run from the repository's root::

    .venv/bin/python -m tests.bench.plot_ratios

It reads the reports named on the command line (default: the headline runs,
``tests/bench/ratios-2026-12-03b.json`` and ``ratios-2026-12-03c.json``) and
writes ``docs/_static/benchmark-ratios.svg`` (``--out`` to change it): for each
N, each report's median ratio with its min-max whisker, in two panels:

1. FederatedForeignKey ÷ Django's GenericForeignKey, all local (target ≤ 1.0);
2. the library ÷ the minimal endpoint (the physical limit), half of the
   references on shop_b (target ≤ 1.2).

The SVG is written by hand (no plotting library), so that the docs extra needs
nothing more.
"""

import argparse
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = [
    ROOT / "tests/bench/ratios-2026-12-03b.json",
    ROOT / "tests/bench/ratios-2026-12-03c.json",
]
OUT = ROOT / "docs/_static/benchmark-ratios.svg"
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
#: The y axis, the same for both panels so that they compare at a glance.
Y_MIN, Y_MAX, Y_STEP = 0.4, 2.0, 0.2
WIDTH = 820
TOP, BOTTOM, LEFT, GAP, RIGHT = 72, 316, 56, 60, 20


@dataclass
class Panel:
    """One ratio: its title, its target, and how to find it in a report."""

    title: str
    subtitle: str
    target: float
    scenario: str
    data: str | None
    key: str


PANELS = [
    Panel(
        "1. FederatedForeignKey ÷ GenericForeignKey",
        "all references local (scenario 1)",
        1.0,
        "1 local overhead",
        None,
        "ratio_spread",
    ),
    Panel(
        "2. library ÷ minimal endpoint",
        "half of the references on shop_b (scenario 2)",
        1.2,
        "2 federation cost",
        "half on shop_b",
        "ratio_to_limit",
    ),
]


def spreads(report: dict, panel: Panel) -> dict[int, list[float]]:
    """``{N: [min, median, max]}`` of ``panel``'s ratio in ``report``."""
    found = {}
    for row in report["results"]:
        if row["scenario"] == panel.scenario and row.get("data") == panel.data:
            found[row["n"]] = row[panel.key]
    return found


def y(value: float) -> float:
    """The SVG y of a ratio."""
    return BOTTOM - (value - Y_MIN) / (Y_MAX - Y_MIN) * (BOTTOM - TOP)


def element(tag: str, **attrs: object) -> str:
    """An empty SVG element; ``stroke_width`` is written ``stroke-width``."""
    written = " ".join(
        f'{k.replace("_", "-")}="{v:.1f}"'
        if isinstance(v, float)
        else f'{k.replace("_", "-")}="{v}"'
        for k, v in attrs.items()
    )
    return f"<{tag} {written}/>"


def text(x: float, y_: float, body: str, anchor: str = "middle", size: int = 12, **attrs) -> str:
    """An SVG text element."""
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y_:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>'
        f"{escape(body)}</text>"
    )


def panel_svg(
    panel: Panel, left: float, width: float, series: list[dict[int, list[float]]]
) -> list[str]:
    """One panel: grid, target line, and each report's points with whiskers."""
    out = [
        text(left + width / 2, TOP - 26, panel.title, size=13, font_weight="bold"),
        text(left + width / 2, TOP - 9, panel.subtitle, size=12),
    ]
    steps = round((Y_MAX - Y_MIN) / Y_STEP)
    for i in range(steps + 1):
        value = Y_MIN + i * Y_STEP
        colour = "#999" if abs(value - 1.0) < 1e-9 else "#e5e5e5"
        out.append(
            element("line", x1=left, x2=left + width, y1=y(value), y2=y(value), stroke=colour)
        )
        out.append(text(left - 6, y(value) + 4, f"{value:.1f}", anchor="end", size=11))
    target = y(panel.target)
    out.append(
        f'<line x1="{left}" x2="{left + width}" y1="{target:.1f}" y2="{target:.1f}"'
        ' stroke="#2a2" stroke-width="1.5" stroke-dasharray="6 4"/>'
    )
    out.append(
        text(
            left + 4,
            target - 5,
            f"target ≤ {panel.target:.1f}",
            anchor="start",
            size=11,
            fill="#181",
        )
    )
    sizes = sorted({n for points in series for n in points})
    slot = width / len(sizes)
    for index, n in enumerate(sizes):
        centre = left + slot * (index + 0.5)
        out.append(text(centre, BOTTOM + 18, f"N = {n:,}"))
        for number, points in enumerate(series):
            if n not in points:
                continue
            low, mid, high = points[n]
            x = centre + (number - (len(series) - 1) / 2) * 44
            colour = COLOURS[number % len(COLOURS)]
            out.append(
                element("line", x1=x, x2=x, y1=y(low), y2=y(high), stroke=colour, stroke_width=2)
            )
            for end in (low, high):
                out.append(
                    element(
                        "line",
                        x1=x - 5,
                        x2=x + 5,
                        y1=y(end),
                        y2=y(end),
                        stroke=colour,
                        stroke_width=2,
                    )
                )
            out.append(f'<circle cx="{x:.1f}" cy="{y(mid):.1f}" r="5" fill="{colour}"/>')
            # The first half of the reports labelled on the left, the rest on the right.
            left_side = number < len(series) / 2 and len(series) > 1
            label_x, anchor = (x - 8, "end") if left_side else (x + 8, "start")
            out.append(
                text(
                    label_x - (2 if left_side else -2),
                    y(mid) + 4,
                    f"{mid:.2f}",
                    anchor=anchor,
                    size=11,
                    fill=colour,
                    stroke="white",
                    stroke_width=3,
                    paint_order="stroke",
                )
            )
    out.append(
        element("rect", x=left, y=TOP, width=width, height=BOTTOM - TOP, fill="none", stroke="#666")
    )
    return out


def plot(reports: list[Path]) -> str:
    """The whole SVG, for ``reports``."""
    loaded = [json.loads(path.read_text()) for path in reports]
    height = BOTTOM + 36 + 18 * len(reports)
    width = (WIDTH - LEFT - RIGHT - GAP * (len(PANELS) - 1)) / len(PANELS)
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">',
        "<title>Benchmark ratios across N: median and min-max of the rounds</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        text(
            WIDTH / 2,
            20,
            "Benchmark ratios across N (median, min-max of the rounds; lower is faster)",
            size=14,
        ),
    ]
    for number, panel in enumerate(PANELS):
        left = LEFT + number * (width + GAP)
        body += panel_svg(panel, left, width, [spreads(r, panel) for r in loaded])
    for number, (path, report) in enumerate(zip(reports, loaded, strict=True)):
        colour = COLOURS[number % len(COLOURS)]
        ly = BOTTOM + 44 + number * 18
        body.append(f'<circle cx="{LEFT + 6}" cy="{ly - 4}" r="5" fill="{colour}"/>')
        when = report["date"][:16].replace("T", " ")
        label = (
            f"{path.name} ({when} UTC, {report['repeat']} rounds, load {report['load_average'][0]})"
        )
        body.append(text(LEFT + 18, ly, label, anchor="start", size=12))
    body.append("</svg>")
    return "\n".join(body) + "\n"


def main() -> None:
    """Read the reports, write the SVG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*", type=Path, default=REPORTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.write_text(plot(args.reports))
    print(f"{args.out}: {len(args.reports)} reports")


if __name__ == "__main__":
    main()
