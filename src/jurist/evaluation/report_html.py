"""A batch report (``evaluation.report_model.Report``) as one self-contained HTML page: plotly charts
with plotly.js inlined once (no CDN, opens offline), plus the figures as tables.

Every chart is a ``<section class="report-chart">`` holding the plotly div whose id is one of
``CHART_IDS`` (stable, so tests and users can find them). A labelled batch's report adds the reliability
diagram (confidence vs the share of lines whose verdict the humans agreed with, and the diagonal)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from jurist.evaluation.report_model import (
    CI,
    ConfidenceQuality,
    JudgeHealth,
    LeaderboardRow,
    PairCriterionMeans,
    PairwiseSection,
    Report,
    SingleSection,
)
from jurist.evaluation.report_table import (
    STYLE_TITLE,
    ci_text,
    health_rates,
    health_rows,
    leaderboard_rows,
    num,
    pct,
    style_rows,
)
from jurist.evaluation.report_trust_rows import trust_tables

CHART_IDS = {
    "score_distribution": "chart-score-distribution",
    "criteria": "chart-criteria",
    "outcomes": "chart-outcomes",
    "pair_criteria": "chart-pair-criteria",
    "leaderboard": "chart-leaderboard",
    "leaderboard_style": "chart-leaderboard-style",
    "health": "chart-health",
    "reliability": "chart-reliability",
}
_BLUE, _ORANGE, _GREY = "#3366cc", "#ff9900", "#999999"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.report-chart { margin: 1rem 0 2rem; }
.note { color: #8a6d00; }
.method { color: #666; font-size: 0.9em; }
"""


def _errors(cis: Sequence[CI | None], centres: Sequence[float | None]) -> dict[str, object]:
    """Asymmetric error bars from [low, high] CIs around the plotted values."""
    plus = [(ci[1] - c) if ci and c is not None else 0 for ci, c in zip(cis, centres, strict=True)]
    minus = [(c - ci[0]) if ci and c is not None else 0 for ci, c in zip(cis, centres, strict=True)]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "visible": True}


def _layout(fig: go.Figure, title: str, height: int = 380, **extra: Any) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        template="plotly_white",
        margin={"l": 60, "r": 30, "t": 60, "b": 60},
        **extra,
    )
    return fig


def _score_distribution(section: SingleSection) -> go.Figure:
    dist = section.distribution
    fig = go.Figure(
        go.Bar(
            x=[str(d.score) for d in dist],
            y=[d.count for d in dist],
            marker_color=_BLUE,
            text=[pct(d.share) for d in dist],
            textposition="outside",
        )
    )
    return _layout(fig, "Overall score distribution", xaxis_title="score", yaxis_title="lines")


def _criteria(section: SingleSection) -> go.Figure:
    crit = [c for c in section.criteria if c.mean is not None]
    means = [c.mean for c in crit]
    fig = go.Figure(
        go.Bar(
            x=[c.name for c in crit],
            y=means,
            error_y=_errors([c.ci for c in crit], means),
            marker_color=_BLUE,
        )
    )
    low, high = section.score_range
    return _layout(
        fig,
        "Per-criterion mean score (95% CI)",
        yaxis={"range": [min(0, low), high + 0.5], "title": "mean score"},
    )


def _outcomes(section: PairwiseSection) -> go.Figure:
    o = section.outcomes
    fig = go.Figure(
        go.Bar(
            x=["response 1 wins", "tie", "response 2 wins"],
            y=[o.response_1, o.tie, o.response_2],
            marker_color=[_BLUE, _GREY, _ORANGE],
        )
    )
    title = f"Win / tie / loss — response 1 win rate {pct(section.win_rate)} {ci_text(section.win_rate_ci)}"
    return _layout(fig, title, yaxis_title="lines")


def _scored_pair_criteria(section: PairwiseSection) -> list[PairCriterionMeans]:
    """Criteria with at least one score (a criterion N/A everywhere has nothing to draw)."""
    return [c for c in section.criteria if c.response_1.mean is not None or c.response_2.mean is not None]


def _pair_criteria(section: PairwiseSection) -> go.Figure:
    fig = go.Figure()
    crit = _scored_pair_criteria(section)
    names = [c.name for c in crit]
    for label, sides, colour in (
        ("response 1", [c.response_1 for c in crit], _BLUE),
        ("response 2", [c.response_2 for c in crit], _ORANGE),
    ):
        means = [side.mean for side in sides]
        fig.add_trace(
            go.Bar(
                name=label,
                x=names,
                y=means,
                error_y=_errors([side.ci for side in sides], means),
                marker_color=colour,
            )
        )
    return _layout(fig, "Per-criterion mean scores (95% CI)", barmode="group", yaxis_title="mean score")


def _leaderboard(
    board: list[LeaderboardRow], title: str = "Leaderboard: Bradley–Terry rating, Elo scale (95% CI)"
) -> go.Figure:
    rows = list(reversed(board))  # best at the top
    ratings = [r.rating for r in rows]
    fig = go.Figure(
        go.Scatter(
            x=ratings,
            y=[r.model for r in rows],
            mode="markers",
            marker={"size": 12, "color": _BLUE},
            error_x=_errors([r.ci for r in rows], ratings),
        )
    )
    return _layout(
        fig,
        title,
        height=max(300, 60 + 45 * len(rows)),
        xaxis_title="rating",
    )


def _health(health: JudgeHealth) -> go.Figure:
    labels, values = ["parse-failure rate"], [health.parse_failure_rate or 0.0]
    cis: list[CI | None] = [None]
    for label, figure in health_rates(health):
        if figure is not None:
            labels.append(label)
            values.append(figure.rate)
            cis.append(figure.ci)
    if health.ensemble_agreement is not None:
        labels.append("ensemble agreement")
        values.append(health.ensemble_agreement.mean)
        cis.append(None)
    fig = go.Figure(go.Bar(x=labels, y=values, error_y=_errors(cis, list(values)), marker_color=_GREY))
    fig.add_hline(y=0.5, line_dash="dot", line_color="#cc3333", annotation_text="0.5")
    return _layout(fig, "Judge health (95% CI)", yaxis={"range": [0, 1.05], "tickformat": ".0%"})


def _reliability(quality: ConfidenceQuality) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
            line={"dash": "dot", "color": _GREY},
        )
    )  # fmt: skip
    for group, colour in zip(quality.groups, (_BLUE, _ORANGE), strict=False):
        name = "calibrated" if group.calibrated else "raw signal (not calibrated)"
        fig.add_trace(
            go.Scatter(
                x=[b.mean_confidence for b in group.bins],
                y=[b.agreement for b in group.bins],
                mode="lines+markers",
                name=f"{name}, ECE {group.ece.value:.3f}",
                marker={"size": [8 + min(12, b.count) for b in group.bins], "color": colour},
                text=[f"{b.count} lines" for b in group.bins],
            )
        )
    return _layout(
        fig,
        "Reliability: confidence vs human agreement (equal-mass bins)",
        xaxis={"range": [-0.03, 1.03], "title": "mean confidence", "tickformat": ".0%"},
        yaxis={"range": [-0.05, 1.05], "title": "share the humans agreed with", "tickformat": ".0%"},
    )


def charts(report: Report) -> dict[str, go.Figure]:
    """The charts the report has figures for, keyed like ``CHART_IDS``."""
    out: dict[str, go.Figure] = {}
    single, pair = report.single, report.pairwise
    if single is not None:
        out["score_distribution"] = _score_distribution(single)
        if any(c.mean is not None for c in single.criteria):
            out["criteria"] = _criteria(single)
    if pair is not None:
        out["outcomes"] = _outcomes(pair)
        if _scored_pair_criteria(pair):
            out["pair_criteria"] = _pair_criteria(pair)
        if pair.leaderboard:
            out["leaderboard"] = _leaderboard(pair.leaderboard)
        if pair.style_controlled is not None:
            title = f"{STYLE_TITLE}, Elo scale (95% CI)"
            out["leaderboard_style"] = _leaderboard(pair.style_controlled.leaderboard, title)
    if report.lines.judged:
        out["health"] = _health(report.health)
    if report.confidence is not None:
        out["reliability"] = _reliability(report.confidence)
    return out


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _tables(report: Report) -> str:
    lines = [[name.replace("_", " "), str(count)] for name, count in report.lines if count is not None]
    parts = ["<h2>Lines</h2>", _table(["", "lines"], lines)]
    single, pair = report.single, report.pairwise
    if single is not None:
        overall = single.overall
        rows = [["overall", f"{num(overall.mean)} {ci_text(overall.ci, False)}", str(overall.n), ""]]
        for c in single.criteria:
            rows.append([c.name, f"{num(c.mean)} {ci_text(c.ci, False)}", str(c.n), str(c.not_applicable)])
        parts += ["<h2>Single: mean scores</h2>", _table(["", "mean [95% CI]", "n", "N/A"], rows)]
    if pair is not None:
        o = pair.outcomes
        row = [
            str(o.response_1),
            str(o.tie),
            str(o.response_2),
            f"{pct(pair.win_rate)} {ci_text(pair.win_rate_ci)}",
        ]
        parts += [
            "<h2>Pairwise: outcomes</h2>",
            _table(["response 1 wins", "ties", "response 2 wins", "response 1 win rate [95% CI]"], [row]),
        ]
    if pair is not None and pair.leaderboard:
        rows = leaderboard_rows(pair.leaderboard)
        parts += [
            "<h2>Leaderboard</h2>",
            _table(["#", "model", "rating", "95% CI", "battles", "win rate"], rows),
        ]
    if pair is not None and pair.style_controlled is not None:
        styled = pair.style_controlled
        parts += [
            f"<h2>{html.escape(STYLE_TITLE)}</h2>",
            _table(
                ["#", "model", "rating", "95% CI", "battles", "win rate"],
                leaderboard_rows(styled.leaderboard),
            ),
            "<h2>Style effects (log-odds per SD of (a − b) / (a + b))</h2>",
            _table(["feature", "coefficient [95% CI]"], style_rows(styled)),
        ]
    rows = health_rows(report.health)
    parts += ["<h2>Judge health</h2>", _table(["figure", "value [95% CI]", "n"], rows)]
    for found in trust_tables(report):
        parts += [f"<h2>{html.escape(found.title)}</h2>", _table(found.headers, found.rows)]
    return "\n".join(parts)


def render_html(report: Report, title: str = "Jurist batch report") -> str:
    sections = []
    for key, fig in charts(report).items():
        div = fig.to_html(
            full_html=False, include_plotlyjs=False, div_id=CHART_IDS[key], config={"responsive": True}
        )
        sections.append(f'<section class="report-chart" data-chart="{key}">{div}</section>')
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in report.notes)
    method = report.method
    footer = (
        f"CIs: percentile bootstrap, {method.bootstrap_rounds} rounds, seed {method.seed}. "
        f"Ties: {method.ties}. Leaderboard: {method.leaderboard}. "
        f"Style-controlled leaderboard: {method.style_control}."
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>{notes}{''.join(sections)}{_tables(report)}"
        f"<p class='method'>{html.escape(footer)}</p></body></html>\n"
    )
