"""The trust sections of a report (agreement with human labels, confidence quality, selective verdicts,
cascade stages) as titled tables of text cells, which the terminal (``report_table``) and HTML
(``report_html``) renderers both draw. A section the report does not have gives no table."""

from __future__ import annotations

from dataclasses import dataclass

from jurist.evaluation.agreement import JudgeAgreement, ModeAgreement
from jurist.evaluation.report_model import CI, ExactRate, Report, ValueCI


@dataclass(frozen=True)
class TextTable:
    title: str
    headers: list[str]
    rows: list[list[str]]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _ci(ci: CI | None, percent: bool = True) -> str:
    if not ci:
        return ""
    if percent:
        return f" [{100 * ci[0]:.1f}–{100 * ci[1]:.1f}]"
    return f" [{ci[0]:.3f}–{ci[1]:.3f}]"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _exact(rate: ExactRate | None) -> str:
    return "–" if rate is None or rate.rate is None else f"{_pct(rate.rate)}{_ci(rate.ci)}"


def _value(figure: ValueCI) -> str:
    return f"{figure.value:.3f}{_ci(figure.ci, False)}"


def _judge_row(split: str, figure: JudgeAgreement) -> list[str]:
    return [
        split,
        str(figure.n),
        f"{_pct(figure.accuracy)}{_ci(figure.accuracy_ci)}",
        _num(figure.cohen_kappa),
        _pct(figure.within_1) if figure.within_1 is not None else "",
        _num(figure.kendall_tau_b) if figure.kendall_tau_b is not None else "",
    ]


_SPLITS = {"consistent": "swap consistent", "inconsistent": "swap inconsistent",
           "unanimous": "ensemble unanimous", "split": "ensemble split"}  # fmt: skip


def _mode_tables(mode: str, figures: ModeAgreement) -> list[TextTable]:
    inter = figures.inter_annotator
    overview = TextTable(
        f"Agreement with human labels ({mode})",
        ["figure", "value", "n"],
        [
            ["labelled lines", str(figures.labeled_lines), ""],
            ["annotators tie (no gold, excluded)", str(figures.annotator_ties), ""],
            ["not scored by the judge (excluded)", str(figures.unjudged), ""],
            ["inter-annotator: pairs agreeing", _pct(inter.percent_agreement), str(inter.lines)],
            ["inter-annotator: Fleiss' kappa", _num(inter.fleiss_kappa), str(inter.lines)],
        ],
    )
    splits = [_judge_row("all lines", figures.judge)]
    for name, figure in (*figures.by_swap.items(), *figures.by_ensemble.items()):
        splits.append(_judge_row(_SPLITS.get(name, name), figure))
    judge = TextTable(
        f"Judge vs human majority ({mode})",
        ["lines", "n", "accuracy [95% CI]", "Cohen's kappa", "within 1", "Kendall tau-b"],
        splits,
    )
    confusion = figures.judge.confusion
    columns = sorted({j for row in confusion.values() for j in row}, key=_label_order)
    matrix = TextTable(
        f"Confusion matrix ({mode}): human majority (rows) × judge (columns)",
        ["gold \\ judge", *columns],
        [
            [gold, *(str(row.get(j, 0)) for j in columns)]
            for gold, row in sorted(confusion.items(), key=lambda item: _label_order(item[0]))
        ],
    )
    tables = [overview, judge, matrix]
    if figures.criteria:
        tables.append(
            TextTable(
                f"Per-criterion agreement ({mode}): judge vs human majority",
                ["criterion", "n", "exact", "within 1", "Kendall tau-b"],
                [
                    [c.name, str(c.n), _pct(c.exact), _pct(c.within_1), _num(c.kendall_tau_b)]
                    for c in figures.criteria
                ],
            )
        )
    return tables


def _label_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def agreement_tables(report: Report) -> list[TextTable]:
    if report.agreement is None:
        return []
    tables: list[TextTable] = []
    for mode, figures in (("pairwise", report.agreement.pairwise), ("single", report.agreement.single)):
        if figures is not None:
            tables += _mode_tables(mode, figures)
    return tables


def confidence_tables(report: Report) -> list[TextTable]:
    if report.confidence is None:
        return []
    rows = []
    for g in report.confidence.groups:
        kind = f"calibrated ({', '.join(g.calibrations) or '?'})" if g.calibrated else "raw signal"
        rows.append(
            [kind, str(g.n), _num(g.mean_confidence), _pct(g.agreement), _value(g.ece), _value(g.brier)]
        )
    return [
        TextTable(
            "Confidence vs human agreement",
            ["confidence", "n", "mean confidence", "agreed", "ECE [95% CI]", "Brier [95% CI]"],
            rows,
        )
    ]


def selective_tables(report: Report) -> list[TextTable]:
    section = report.selective
    if section is None:
        return []
    rows = [
        ["lines held to a target", str(section.lines)],
        ["accepted (decided)", str(section.accepted)],
        ["abstained (not counted as decided)", str(section.abstained)],
        ["coverage", _pct(section.coverage)],
    ]
    for s in section.settings:
        cut = "none supported" if s.threshold is None else f"{s.threshold:.3f}"
        setting = f"target {_pct(s.agreement_target)}, delta {s.delta:g}, threshold {cut}"
        rows.append([setting, f"{s.lines} lines"])
    if section.accepted_agreement is not None:
        rows.append(["human agreement, accepted [95% exact CI]", _exact(section.accepted_agreement)])
        rows.append(["human agreement, abstained [95% exact CI]", _exact(section.abstained_agreement)])
    return [TextTable("Selective verdicts", ["figure", "value"], rows)]


def cascade_tables(report: Report) -> list[TextTable]:
    section = report.cascade
    if section is None:
        return []
    rows = [[str(s.stage), s.model, str(s.ran), str(s.decided)] for s in section.stages]
    rows.append(["", "no stage confident (abstained)", "", str(section.undecided)])
    title = f"Cascade: {section.lines} lines, {section.mean_calls:.2f} calls per line"
    return [TextTable(title, ["stage", "model", "ran", "decided"], rows)]


def trust_tables(report: Report) -> list[TextTable]:
    """Every trust table of the report, in the order the renderers show them."""
    return (
        agreement_tables(report)
        + confidence_tables(report)
        + selective_tables(report)
        + cascade_tables(report)
    )
