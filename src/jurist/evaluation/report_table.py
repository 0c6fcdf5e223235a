"""A batch report (``evaluation.report_model.Report``) as terminal tables (rich)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from jurist.evaluation.report_model import (
    CI,
    JudgeHealth,
    LeaderboardRow,
    PairwiseSection,
    RateCI,
    Report,
    SingleSection,
    StyleControlled,
)
from jurist.evaluation.report_trust_rows import TextTable, trust_tables


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def ci_text(ci: CI | None, percent: bool = True, digits: int = 2) -> str:
    if not ci:
        return ""
    low, high = ci
    if percent:
        return f"[{100 * low:.1f}–{100 * high:.1f}]"
    return f"[{low:.{digits}f}–{high:.{digits}f}]"


def num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def health_rates(health: JudgeHealth) -> list[tuple[str, RateCI | None]]:
    """The judge-health rates with their labels, in the order they are shown."""
    return [
        ("swap consistency", health.swap_consistency),
        ("P(first shown wins)", health.first_shown_wins),
        ("P(longer wins)", health.longer_wins),
    ]


def leaderboard_rows(board: list[LeaderboardRow]) -> list[list[str]]:
    """#, model, rating, 95% CI, battles, win rate."""
    rows = []
    for rank, r in enumerate(board, 1):
        ci = f"{r.ci[0]:.0f} – {r.ci[1]:.0f}"
        rows.append([str(rank), r.model, f"{r.rating:.0f}", ci, str(r.battles), pct(r.win_rate)])
    return rows


STYLE_TITLE = "Leaderboard (style-controlled: length and markdown held fixed)"


def style_rows(section: StyleControlled) -> list[list[str]]:
    """feature, coefficient [95% CI] (log-odds of winning per SD of the normalised difference)."""
    return [
        [
            c.feature,
            "– (does not vary)" if c.coefficient is None else f"{c.coefficient:+.2f} {ci_text(c.ci, False)}",
        ]
        for c in section.style
    ]


def health_rows(health: JudgeHealth) -> list[list[str]]:
    """figure, value [95% CI], n."""
    rows = [["parse-failure rate", pct(health.parse_failure_rate), str(health.parse_failures)]]
    for label, figure in health_rates(health):
        if figure is None:
            rows.append([label, "–", "0"])
        else:
            rows.append([label, f"{pct(figure.rate)} {ci_text(figure.ci)}", str(figure.n)])
    if health.ensemble_agreement is not None:
        e = health.ensemble_agreement
        rows.append(["ensemble agreement (mean)", pct(e.mean), str(e.n)])
    return rows


def _lines(report: Report) -> Table:
    lines = report.lines
    table = Table(title="Batch lines", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    shown = (
        ("total", lines.total),
        ("succeeded", lines.succeeded),
        ("failed", lines.failed),
        ("without judgment", lines.without_judgment),
        ("judged", lines.judged),
        ("single", lines.single),
        ("pairwise", lines.pairwise),
    )
    for label, count in shown:
        table.add_row(label, str(count))
    if lines.inputs is not None:
        table.add_row("input lines", str(lines.inputs))
    if report.failures_by_code:
        table.add_row("failures", ", ".join(f"{k}: {v}" for k, v in report.failures_by_code.items()))
    if report.judge_models:
        table.add_row("judge models", ", ".join(f"{k}: {v}" for k, v in report.judge_models.items()))
    return table


def _single(section: SingleSection) -> list[RenderableType]:
    dist = Table(title=f"Single: overall scores ({section.scored} scored of {section.n})")
    for column in ("score", "count", "share", ""):
        dist.add_column(column, justify="right" if column else "left")
    top = max((d.count for d in section.distribution), default=0) or 1
    for d in section.distribution:
        bar = "█" * round(30 * d.count / top)
        dist.add_row(str(d.score), str(d.count), pct(d.share), Text(bar, style="cyan"))
    overall = section.overall
    crit = Table(
        title=f"Single: mean overall score {num(overall.mean)} {ci_text(overall.ci, False)}",
    )
    for column in ("criterion", "mean [95% CI]", "n", "N/A"):
        crit.add_column(column, justify="left" if column == "criterion" else "right")
    for c in section.criteria:
        crit.add_row(c.name, f"{num(c.mean)} {ci_text(c.ci, False)}", str(c.n), str(c.not_applicable))
    out: list[RenderableType] = [dist, crit]
    if section.expected_score is not None:
        out.append(Text(f"mean expected score: {section.expected_score.mean:.3f}"))
    return out


def _pairwise(section: PairwiseSection) -> list[RenderableType]:
    o = section.outcomes
    outcome = Table(title=f"Pairwise: {section.scored} scored of {section.n}")
    for column in ("response 1 wins", "ties", "response 2 wins", "response 1 win rate [95% CI]"):
        outcome.add_column(column, justify="right")
    outcome.add_row(
        str(o.response_1),
        str(o.tie),
        str(o.response_2),
        f"{pct(section.win_rate)} {ci_text(section.win_rate_ci)}",
    )
    out: list[RenderableType] = [outcome]
    if section.criteria:
        crit = Table(title="Pairwise: per-criterion means")
        for column in ("criterion", "response 1 [95% CI]", "response 2 [95% CI]"):
            crit.add_column(column, justify="left" if column == "criterion" else "right")
        for c in section.criteria:
            one, two = c.response_1, c.response_2
            crit.add_row(
                c.name,
                f"{num(one.mean)} {ci_text(one.ci, False)}",
                f"{num(two.mean)} {ci_text(two.ci, False)}",
            )
        out.append(crit)
    if section.leaderboard:
        board = Table(title="Leaderboard (Bradley–Terry, Elo scale)")
        for column in ("#", "model", "rating", "95% CI", "battles", "win rate"):
            board.add_column(column, justify="left" if column == "model" else "right")
        for row in leaderboard_rows(section.leaderboard):
            board.add_row(*row)
        out.append(board)
    if section.style_controlled is not None:
        styled = Table(title=f"{STYLE_TITLE}, {section.style_controlled.battles} battles")
        for column in ("#", "model", "rating", "95% CI", "battles", "win rate"):
            styled.add_column(column, justify="left" if column == "model" else "right")
        for row in leaderboard_rows(section.style_controlled.leaderboard):
            styled.add_row(*row)
        effects = Table(title="Style effects (log-odds per SD of (a − b) / (a + b); > 0: more wins)")
        for column in ("feature", "coefficient [95% CI]"):
            effects.add_column(column, justify="left" if column == "feature" else "right")
        for row in style_rows(section.style_controlled):
            effects.add_row(*row)
        out += [styled, effects]
    if section.expected_score is not None:
        e = section.expected_score
        out.append(
            Text(f"mean expected scores: response 1 {e.response_1:.3f}, response 2 {e.response_2:.3f}")
        )
    return out


def _health(health: JudgeHealth) -> Table:
    table = Table(title="Judge health")
    for column in ("figure", "value [95% CI]", "n"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for row in health_rows(health):
        table.add_row(*row)
    table.add_row("parsed by", ", ".join(f"{k}: {v}" for k, v in health.parsed_by.items()), "")
    return table


def _text_table(found: TextTable) -> Table:
    table = Table(title=found.title)
    for i, column in enumerate(found.headers):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in found.rows:
        table.add_row(*row)
    return table


def report_renderable(report: Report) -> Group:
    parts: list[RenderableType] = [_lines(report)]
    if report.single is not None:
        parts += _single(report.single)
    if report.pairwise is not None:
        parts += _pairwise(report.pairwise)
    parts.append(_health(report.health))
    parts += [_text_table(found) for found in trust_tables(report)]
    for note in report.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    method = report.method
    footer = f"CIs: percentile bootstrap, {method.bootstrap_rounds} rounds; ties: {method.ties}."
    parts.append(Text(footer, style="dim"))
    return Group(*parts)


def print_report(report: Report, console: Console) -> None:
    console.print(report_renderable(report))
