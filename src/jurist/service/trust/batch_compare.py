"""Which is better, the base batch or the candidate? Two judge batches of one tenant compared line by
line, paired by ``custom_id`` (``GET /v1/batches/compare``, Jurist's extension): the batch counterpart of
comparing two runs of an eval (``service.evals.compare``), answered in the same shape.

Lines: every line of a batch's output and error files (``batch_lines``). A line without a readable,
scored judgment (an error line, a request that was no judge call, an unscored verdict) is errored: a
paired line errored in either batch is counted (``items.errored``) and left out of the statistics, as a
criterion scored N/A in either is left out of that criterion's (its ``errored``). A custom_id in one
batch only is counted apart (``only_in_base``, ``only_in_candidate``), never dropped.

Scores and passes:

- single mode: the overall score and each criterion's score. A score passes when it is at least
  ``threshold`` (in the judgment's own units, for the overall score and every criterion alike); without
  one, at least the middle of the line's ``score_range``, (low + high) / 2: 3 on 1–5, 5.5 on 1–10, so the
  upper half passes, the middle included. Scores are compared rescaled to [0, 1] over the line's range,
  so ``margin`` reads as a share of the scale (and lines judged on different scales still pair).
- pairwise mode: response_1's result is the score, 1 / 0.5 / 0 for a win / tie / loss (per criterion:
  from the two responses' criterion scores), and it passes only when response_1 wins (a tie does not).
  That is the natural question of two pairwise batches over the same custom_ids (the same response_2
  against two versions of response_1, or one pair before two judges): does response_1 win more often?
  ``threshold`` does not apply: given, it is a 400.

A batch mixing single and pairwise judgments, or two batches of different modes, is refused (400).

Statistics (``evaluation.paired``, as for runs): per criterion named in the judgments, pass/fail
(McNemar's exact test) and scores (Wilcoxon signed-rank) with Holm's correction across the criteria;
overall, pass/fail (``overall``) and the overall score (``overall_score``). ``items.improved`` /
``regressed`` / ``same`` compare the overall scores of the lines scored in both; ``diffs`` lists the lines
whose overall score changed, the largest regressions first, then the largest improvements."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from jurist.errors import InvalidRequest, NotFound
from jurist.evaluation.paired import Paired, adjusted, compare_pass, compare_scores
from jurist.protocol.json_types import JSONObject
from jurist.service.jobs.batches import BatchService
from jurist.service.trust.batch_lines import Mode, ScoredLine, read_lines
from jurist.service.trust.line_facts import Offload, in_thread
from jurist.service.validation import check_comparison
from jurist.store.blobs import BlobStore
from jurist.store.files import FileStore

DIFFS_SHOWN = 100  # changed lines listed by default
PARAMS = ("base", "candidate")


@dataclass(frozen=True)
class BatchSettings:
    margin: float = 0.02
    alpha: float = 0.05
    criterion: str | None = None
    threshold: float | None = None  # single mode; None: the middle of each line's score range
    diffs: int = DIFFS_SHOWN


@dataclass(frozen=True)
class JudgedBatch:
    id: str
    status: str
    lines: dict[str, ScoredLine]


def check_settings(s: BatchSettings) -> None:
    check_comparison(s.margin, s.alpha)
    if s.threshold is not None and not np.isfinite(s.threshold):
        raise InvalidRequest(f"threshold must be a finite number, got {s.threshold}.", param="threshold")


def _mode(batch: JudgedBatch, param: str) -> Mode | None:
    modes = {line.mode for line in batch.lines.values() if line.mode is not None}
    if len(modes) > 1:
        raise InvalidRequest(
            f"Batch {batch.id} holds both single and pairwise judgments; compare batches of one mode.",
            param=param,
        )
    return modes.pop() if modes else None


def _settled_mode(base: JudgedBatch, candidate: JudgedBatch, s: BatchSettings) -> Mode | None:
    a, b = _mode(base, "base"), _mode(candidate, "candidate")
    if a is not None and b is not None and a != b:
        raise InvalidRequest(
            f"Batch {base.id} holds {a} judgments and batch {candidate.id} {b} ones: they do not compare.",
            param="candidate",
        )
    mode = a or b
    if mode == "pairwise" and s.threshold is not None:
        raise InvalidRequest(
            "threshold applies to single-mode judgments; a pairwise line passes when response_1 wins.",
            param="threshold",
        )
    return mode


def _names(base: JudgedBatch, candidate: JudgedBatch) -> list[str]:
    """The criteria named in either batch's judgments, in the order first met."""
    seen: dict[str, None] = {}
    for batch in (base, candidate):
        for line in batch.lines.values():
            for name, _ in line.criteria:
                seen.setdefault(name)
    return list(seen)


def _columns(
    lines: list[ScoredLine], names: list[str], s: BatchSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lines, 1 + criteria) arrays: scores rescaled to [0, 1] (NaN: none), passes, and raw scores;
    column 0 is the overall score."""
    k = 1 + len(names)
    at = {name: j for j, name in enumerate(names, start=1)}
    raw = np.full((len(lines), k), np.nan)
    low, high, mid = np.zeros(len(lines)), np.ones(len(lines)), np.full(len(lines), 0.5)
    for i, line in enumerate(lines):
        if not line.scored:
            continue
        low[i], high[i] = line.low, line.high
        mid[i] = (line.low + line.high) / 2 if s.threshold is None else s.threshold
        raw[i, 0] = line.score
        for name, value in line.criteria:
            if value is not None:
                raw[i, at[name]] = value
    span = np.where(high > low, high - low, 1.0)[:, None]
    scaled = (raw - low[:, None]) / span
    pairwise = np.array([line.mode == "pairwise" for line in lines], dtype=bool)[:, None]
    with np.errstate(invalid="ignore"):
        passed = np.where(pairwise, raw == 1.0, raw >= mid[:, None])
    return scaled, passed, raw


def _verdicts(passed: np.ndarray, scaled: np.ndarray) -> list[str]:
    """P / F / E per criterion (column 1 on) of each line."""
    letters = np.where(np.isnan(scaled[:, 1:]), "E", np.where(passed[:, 1:], "P", "F"))
    return ["".join(row) for row in letters.tolist()]


def _status(passed: np.bool_, scaled: np.floating) -> str:
    return "error" if np.isnan(scaled) else "pass" if passed else "fail"


def _paired(
    sa: np.ndarray, sb: np.ndarray, pa: np.ndarray, pb: np.ndarray, s: BatchSettings
) -> tuple[Paired, Paired]:
    """Pass/fail and scores of the lines graded in both batches (``evaluation.paired``)."""
    passes = compare_pass(pa.tolist(), pb.tolist(), alpha=s.alpha, margin=s.margin)
    return passes, compare_scores(sa.tolist(), sb.tolist(), alpha=s.alpha, margin=s.margin)


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def comparison(base: JudgedBatch, candidate: JudgedBatch, s: BatchSettings) -> JSONObject:
    """The comparison as ``GET /v1/batches/compare`` answers it."""
    mode = _settled_mode(base, candidate, s)
    names = _names(base, candidate)
    if s.criterion is not None and s.criterion not in names:
        raise InvalidRequest(
            f"criterion {s.criterion!r} is not a criterion of these batches' judgments "
            f"({', '.join(names) or 'they name none'}).",
            param="criterion",
        )
    keys = [key for key in base.lines if key in candidate.lines]
    sa, pa, ra = _columns([base.lines[key] for key in keys], names, s)
    sb, pb, rb = _columns([candidate.lines[key] for key in keys], names, s)
    per: list[tuple[str, Paired, Paired, int]] = []
    for j, name in enumerate(names, start=1):
        if s.criterion in (None, name):
            both = ~np.isnan(sa[:, j]) & ~np.isnan(sb[:, j])
            found = _paired(sa[both, j], sb[both, j], pa[both, j], pb[both, j], s)
            per.append((name, *found, len(keys) - int(both.sum())))
    passes = adjusted([p for _, p, _, _ in per], s.alpha, s.margin)
    scores = adjusted([q for _, _, q, _ in per], s.alpha, s.margin)
    both = ~np.isnan(sa[:, 0]) & ~np.isnan(sb[:, 0])
    d = np.where(both, sb[:, 0] - sa[:, 0], 0.0)
    down = sorted(np.flatnonzero(d < 0).tolist(), key=lambda i: d[i])
    up = sorted(np.flatnonzero(d > 0).tolist(), key=lambda i: -d[i])
    va, vb = _verdicts(pa, sa), _verdicts(pb, sb)
    diffs: list[JSONObject] = [
        {"custom_id": keys[i], "base": _status(pa[i, 0], sa[i, 0]),
         "candidate": _status(pb[i, 0], sb[i, 0]), "base_score": _number(ra[i, 0]),
         "candidate_score": _number(rb[i, 0]), "base_verdicts": va[i], "candidate_verdicts": vb[i]}
        for i in [*down, *up][: s.diffs]
    ]  # fmt: skip
    scored = int(both.sum())
    overall, overall_score = _paired(sa[both, 0], sb[both, 0], pa[both, 0], pb[both, 0], s)
    return {
        "object": "batch.comparison",
        "base": base.id,
        "candidate": candidate.id,
        "complete": base.status == candidate.status == "completed",
        "mode": mode,
        "threshold": s.threshold,
        "margin": s.margin,
        "alpha": s.alpha,
        "items": {
            "paired": len(keys),
            "only_in_base": len(base.lines) - len(keys),
            "only_in_candidate": len(candidate.lines) - len(keys),
            "errored": len(keys) - scored,
            "improved": len(up),
            "regressed": len(down),
            "same": scored - len(up) - len(down),
        },
        "overall": dict(overall.as_dict()),
        "overall_score": dict(overall_score.as_dict()),
        "criteria": [
            {"name": name, "pass": dict(p.as_dict()), "score": dict(q.as_dict()), "errored": errored}
            for (name, _, _, errored), p, q in zip(per, passes, scores, strict=True)
        ],
        "diffs": diffs,  # type: ignore[dict-item]
    }


class BatchCompareService:
    def __init__(
        self, files: FileStore, blobs: BlobStore, batches: BatchService, offload: Offload = in_thread
    ) -> None:
        self.files = files
        self.blobs = blobs
        self.batches = batches
        self.offload = offload

    async def _judged(self, tenant: str, param: str, batch_id: str) -> JudgedBatch:
        """The batch's lines (``param`` names it in an error): another tenant's batch is a 404, one
        without results yet a 400."""
        try:
            record = await self.batches.get(tenant, batch_id)
        except NotFound:
            raise NotFound(f"No such Batch object: {batch_id}", param=param) from None
        lines: dict[str, ScoredLine] = {}
        found_any = False
        for file_id in (record.error_file_id, record.output_file_id):  # an output line wins
            stored = None if file_id is None else await self.files.get(tenant, file_id)
            if file_id is None or stored is None:
                continue
            found_any = True
            lines.update(await self._read(file_id, stored.bytes))
        if not found_any:
            gone = record.output_file_id is not None or record.error_file_id is not None
            raise InvalidRequest(
                f"Batch {batch_id} has no output file"
                + (" any more (it was deleted)" if gone else f" yet (status {record.status})")
                + "; a comparison needs its results.",
                param=param,
            )
        return JudgedBatch(record.id, str(record.status), lines)

    async def _read(self, file_id: str, size: int) -> dict[str, ScoredLine]:
        return await read_lines(size, lambda: self.blobs.read(file_id), self.offload)

    async def compare(self, tenant: str, ids: Mapping[str, str], s: BatchSettings) -> JSONObject:
        """Base against candidate, line by line (``comparison``), for ``ids`` {"base": …, "candidate": …}."""
        check_settings(s)
        base, candidate = [await self._judged(tenant, param, ids[param]) for param in PARAMS]
        return await asyncio.to_thread(comparison, base, candidate, s)
