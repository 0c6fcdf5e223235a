"""Batch reports: the figures of a batch's output file, joined to its input file by ``custom_id``.

Pure computation. Feed parsed JSONL lines (input, output and error lines, in any order) to a
``ReportBuilder`` and call ``build()`` for the typed ``Report`` (``evaluation.report_model``); reading
files is the caller's business. The builder keeps a few numbers per line, never the lines themselves.
Output lines' judgments are read with the judgment model the service writes (``report_lines``); a
line that cannot be read is counted as malformed, with a note, never an error.

- Single mode: the distribution of overall scores, the mean overall score and per-criterion means
  with bootstrap CIs (N/A criterion scores are left out of the means and counted).
- Pairwise mode: win/tie/loss of response 1 (``answer1``) and its win rate (a tie = half a win) with a
  bootstrap CI, per-criterion means of both responses, and, when the input lines name the competitors
  (``metadata.model_a`` = answer1's model, ``metadata.model_b`` = answer2's), a Bradley–Terry
  leaderboard on the Elo scale (Arena-Hard's recipe): one battle per line from its (reconciled)
  verdict, a tie counted as half a win for each side, CIs from resampling the battles; beside it,
  when the input lines carry the answers, the style-controlled leaderboard (``style_control``).
- Judge health: parse-failure rate (judgments with ``scored: false``), swap consistency, P(first shown
  wins), P(longer wins), and the mean ensemble agreement when the judgments carry one.
- Trust (``report_trust``): confidence quality against human labels (when ``build`` is given them),
  selective coverage and abstentions, cascade stage counts. A line whose judgment ``abstained`` is not
  counted as decided: it is left out of the single and pairwise sections (judge health counts it).

The figures themselves are computed in ``report_sections`` and ``report_trust``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from jurist.evaluation.agreement import Label
from jurist.evaluation.report_lines import (
    Competitors,
    PairLine,
    SingleLine,
    competitors,
    failure_code,
    pair_line,
    read_judgment,
    single_line,
)
from jurist.evaluation.report_model import JudgeHealth, LineCounts, Mean, Method, Report
from jurist.evaluation.report_sections import Bootstrap, pair_health, pairwise_section, single_section
from jurist.evaluation.report_trust import (
    TrustLine,
    cascade_section,
    confidence_section,
    gold_labels,
    selective_section,
    trust_line,
)
from jurist.protocol.items import MODES
from jurist.protocol.judgment import SingleJudgment

TIE_HANDLING = "a tie counts as half a win for each side (win rates and the Bradley–Terry fit)"
LEADERBOARD_METHOD = (
    "Bradley–Terry (MM fit, Elo scale, mean 1000); one battle per line from its reconciled verdict; "
    "percentile-bootstrap CIs over resampled battles"
)
STYLE_CONTROL_METHOD = (
    "Bradley–Terry as an L2-regularised logistic regression with style covariates (UTF-8 length, "
    "markdown headers, bold spans, list items): per battle (a − b) / (a + b), standardised; ratings "
    "with style held fixed; coefficients in log-odds per SD; CIs from the same resampled battles"
)


@dataclass
class ReportBuilder:
    """Accumulates lines; ``build()`` computes the report (bootstrap CIs included)."""

    inputs: dict[str, Competitors] = field(default_factory=dict)
    input_lines: int = 0
    total: int = 0
    failed: int = 0
    malformed: int = 0
    unreadable: int = 0  # output lines whose judgment does not fit the model (counted as malformed)
    first_unreadable: str = ""
    without_judgment: int = 0
    failure_codes: Counter[str] = field(default_factory=Counter)
    judge_models: Counter[str] = field(default_factory=Counter)
    parsed_by: Counter[str] = field(default_factory=Counter)
    agreement: list[float] = field(default_factory=list)
    singles: list[SingleLine] = field(default_factory=list)
    pairs: list[PairLine] = field(default_factory=list)
    abstained_singles: list[SingleLine] = field(default_factory=list)  # not counted as decided
    abstained_pairs: list[PairLine] = field(default_factory=list)
    trust: list[TrustLine] = field(default_factory=list)

    def add_input(self, line: object) -> None:
        self.input_lines += 1
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            self.inputs[line["custom_id"]] = competitors(line)

    def add_error(self, line: object) -> None:
        """A line of the batch's error file: a request that failed after its retries."""
        self.total += 1
        self.failed += 1
        self.failure_codes[failure_code(line)] += 1

    def add_output(self, line: object) -> None:
        self.total += 1
        if not isinstance(line, dict):
            self.malformed += 1
            return
        response = line.get("response")
        status = response.get("status_code") if isinstance(response, dict) else None
        if line.get("error") or status != 200 or not isinstance(response, dict):
            self.failed += 1
            self.failure_codes[failure_code(line)] += 1
            return
        body = response.get("body")
        found = body.get("judgment") if isinstance(body, dict) else None
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            self.judge_models[body["model"]] += 1
        if not isinstance(found, dict) or found.get("mode") not in MODES:
            self.without_judgment += 1
            return
        custom_id = line.get("custom_id")
        custom_id = custom_id if isinstance(custom_id, str) else None
        judgment = read_judgment(found)
        if isinstance(judgment, str):
            self.malformed += 1
            self.unreadable += 1
            self.first_unreadable = self.first_unreadable or f"{custom_id}: {judgment}"
            return
        self.parsed_by[str(judgment.parsed_by)] += 1
        if judgment.ensemble is not None and judgment.ensemble.agreement is not None:
            self.agreement.append(judgment.ensemble.agreement)
        trust = trust_line(judgment, custom_id)
        if trust is not None:
            self.trust.append(trust)
        if isinstance(judgment, SingleJudgment):
            (self.abstained_singles if judgment.abstained else self.singles).append(single_line(judgment))
        else:
            (self.abstained_pairs if judgment.abstained else self.pairs).append(
                pair_line(judgment, custom_id)
            )

    def build(
        self,
        rounds: int = 1000,
        seed: int = 0,
        level: float = 0.95,
        labels: Mapping[str, Mapping[str, Label]] | None = None,
    ) -> Report:
        """The report; ``labels`` (custom_id → annotator → label) adds the figures that need them."""
        notes: list[str] = []
        all_singles = self.singles + self.abstained_singles
        all_pairs = self.pairs + self.abstained_pairs
        judged = len(all_singles) + len(all_pairs)
        unscored = sum(not s.scored for s in all_singles) + sum(not p.scored for p in all_pairs)
        if self.without_judgment:
            notes.append(f"{self.without_judgment} line(s) carry no judgment (custom templates): skipped.")
        if self.unreadable:
            notes.append(
                f"{self.unreadable} line(s) carry a judgment this report cannot read (the first: "
                f"{self.first_unreadable}): counted as malformed."
            )
        boot = Bootstrap(rounds, seed, level)
        single = single_section(self.singles, boot) if self.singles else None
        pairwise, swap, first, longer = None, None, None, None
        if self.pairs:
            pairwise = pairwise_section(self.pairs, self.inputs, boot, notes)
        if all_pairs:
            swap, first, longer = pair_health(all_pairs, self.inputs, boot, notes)
        gold = gold_labels(labels) if labels is not None else None
        confidence = confidence_section(self.trust, gold, rounds, seed, level, notes) if gold else None
        selective = selective_section(self.trust, gold, level, notes)
        return Report(
            lines=LineCounts(
                total=self.total,
                succeeded=self.total - self.failed - self.malformed,
                failed=self.failed,
                malformed=self.malformed,
                without_judgment=self.without_judgment,
                judged=judged,
                single=len(all_singles),
                pairwise=len(all_pairs),
                inputs=self.input_lines if self.input_lines else None,
            ),
            failures_by_code=dict(self.failure_codes.most_common()),
            judge_models=dict(self.judge_models.most_common()),
            single=single,
            pairwise=pairwise,
            health=JudgeHealth(
                parse_failures=unscored,
                parse_failure_rate=unscored / judged if judged else None,
                parsed_by=dict(self.parsed_by.most_common()),
                swap_consistency=swap,
                first_shown_wins=first,
                longer_wins=longer,
                ensemble_agreement=Mean(mean=float(np.mean(self.agreement)), n=len(self.agreement))
                if self.agreement
                else None,
            ),
            method=Method(
                bootstrap_rounds=rounds,
                seed=seed,
                ci_level=level,
                ties=TIE_HANDLING,
                leaderboard=LEADERBOARD_METHOD,
                style_control=STYLE_CONTROL_METHOD,
            ),
            notes=notes,
            confidence=confidence,
            selective=selective,
            cascade=cascade_section(self.trust),
        )


def build_report(
    outputs: Iterable[object],
    inputs: Iterable[object] | None = None,
    errors: Iterable[object] | None = None,
    *,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    labels: Mapping[str, Mapping[str, Label]] | None = None,
) -> Report:
    """The report of iterables of parsed lines (outputs, and optionally the inputs and error lines, and
    the human labels: custom_id → annotator → label)."""
    builder = ReportBuilder()
    for line in inputs or ():
        builder.add_input(line)
    for line in outputs:
        builder.add_output(line)
    for line in errors or ():
        builder.add_error(line)
    return builder.build(rounds, seed, level, labels)
