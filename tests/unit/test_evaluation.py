"""jurist eval: reproducing published numbers, and the two-order figures on a scripted judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.backends.fake import FakeBackend
from jurist.cli.main import app
from jurist.evaluation.datasets import PairItem, load_pairwise
from jurist.evaluation.metrics import baselines, bootstrap_ci, classification
from jurist.service.judging.evaluate import evaluate_pairs, local_judgments
from jurist.service.judging.models import JudgeModel
from jurist.service.judging.pipeline import ChatService
from jurist.settings import OpenAIModelConfig
from tests.support.verdicts import pairwise_verdict_json

PANDALM = Path(__file__).parents[1] / "data" / "pandalm"


@pytest.mark.parametrize(
    ("judgments", "accuracy", "precision", "recall", "f1", "unparseable"),
    [
        ("gpt-3.5-turbo-testset-v1.json", "69.8", "53.7", "53.2", "52.7", 25),
        ("pandalm-7b-testset-v1.json", "66.8", "57.4", "57.5", "57.4", 0),
    ],
)
def test_eval_judgments_reproduces_the_pandalm_table(
    tmp_path: Path, judgments: str, accuracy: str, precision: str, recall: str, f1: str, unparseable: int
) -> None:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            str(PANDALM / "testset-v1.json"),
            "--judgments",
            str(PANDALM / judgments),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    judge = report["judge"]
    assert report["items"] == 999
    assert f"{100 * judge['accuracy']:.1f}" == accuracy
    assert f"{100 * judge['macro_precision']:.1f}" == precision
    assert f"{100 * judge['macro_recall']:.1f}" == recall
    assert f"{100 * judge['macro_f1']:.1f}" == f1
    assert judge["unparseable"] == unparseable
    assert f"{100 * report['baselines']['always_second']['accuracy']:.1f}" == "47.2"
    assert f"{100 * report['baselines']['longer_wins_non_tie_items']['accuracy']:.1f}" == "67.6"


def test_pandalm_gold_is_the_majority_and_odd_items_load() -> None:
    items = load_pairwise(PANDALM / "testset-v1.json")
    assert [sum(i.label == c for i in items) for c in (0, 1, 2)] == [105, 422, 472]
    assert all(isinstance(i.answer1, str) and isinstance(i.answer2, str) for i in items)


async def test_a_judge_that_always_picks_the_first_shown_scores_half_and_never_agrees() -> None:
    fake = FakeBackend(default=pairwise_verdict_json(5, 2, "response_1"))
    config = OpenAIModelConfig(base_url="http://127.0.0.1:9/v1")
    chat = ChatService({"pai-judge": JudgeModel("pai-judge", config, fake)})
    items = [PairItem(str(i), f"q{i}", "short", "a much longer answer", 1 + i % 2) for i in range(20)]
    report, first, second = await evaluate_pairs(items, local_judgments(chat), "pai-judge", concurrency=4)
    assert first == [1] * 20 and second == [2] * 20
    assert report.averaged_accuracy == 0.5
    assert report.positional_agreement == 0.0
    assert report.parse_failures == 0
    assert len(fake.history) == 40  # every item in both orders
    assert baselines(items)["always_first"].accuracy == 0.5


def test_bootstrap_ci_covers_the_truth_at_about_the_nominal_rate() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    covered = 0
    for seed in range(200):
        sample = (rng.random(200) < 0.7).astype(float)
        low, high = bootstrap_ci(sample, reps=500, seed=seed)
        covered += low <= 0.7 <= high
    assert 0.90 <= covered / 200 <= 0.99


def test_classification_counts_unparseable_as_wrong() -> None:
    report = classification([1, 2, 0, 1], [1, None, 0, 2])
    assert report.accuracy == 0.5 and report.unparseable == 1 and report.predicted_ties == 1


PROMETHEUS = Path(__file__).parents[1] / "data" / "prometheus_eval"


def test_prometheus_sets_are_parsed_into_question_answer_reference_and_rubric() -> None:
    from jurist.evaluation.datasets import is_graded, load_graded

    items = load_graded(PROMETHEUS / "mt_bench_eval.json")
    assert len(items) == 320 and is_graded(PROMETHEUS / "vicuna_eval.json")
    first = items[0]
    assert first.question and first.answer and first.reference
    assert first.rubric.startswith("Score 1:") and "Score 5:" in first.rubric
    assert first.scores == (3.0, 2.0, 3.0)
    assert not is_graded(PANDALM / "testset-v1.json")


def test_correlations_against_an_independent_computation() -> None:
    from scipy.stats import kendalltau, pearsonr

    from jurist.evaluation.metrics import correlation

    judge = [1, 2, 2, 3, 5, 4, None, 3, 1, 5]
    ref = [1.0, 2.3, 1.7, 3.0, 4.7, 4.0, 2.0, 2.3, 1.3, 5.0]
    result = correlation(judge, ref)
    xs = [j for j in judge if j is not None]
    ys = [r for j, r in zip(judge, ref, strict=True) if j is not None]
    assert result.scored == 9 and result.n == 10
    assert result.pearson == pytest.approx(pearsonr(xs, ys)[0])
    assert result.kendall_tau_b == pytest.approx(kendalltau(xs, ys)[0])
    assert correlation([3, 3, 3], [1.0, 2.0, 3.0]).pearson is None  # a constant judge has no correlation


async def test_grading_through_the_engine_correlates_with_reference_scores() -> None:
    from jurist.evaluation.datasets import load_graded
    from jurist.service.judging.evaluate import evaluate_grades, local_judgments

    items = load_graded(PROMETHEUS / "vicuna_eval.json")[:12]
    fake = FakeBackend()
    for item in items:  # a judge that agrees with GPT-4 (rounded mean)
        score = min(5, max(1, round(item.mean_score)))
        fake.enqueue(json.dumps({"criteria": {}, "summary": "", "overall_score": score}))
    config = OpenAIModelConfig(base_url="http://127.0.0.1:9/v1")
    chat = ChatService({"pai-judge": JudgeModel("pai-judge", config, fake)})
    result, scores = await evaluate_grades(items, local_judgments(chat), "pai-judge", concurrency=1)
    assert result.scored == 12 and result.pearson is not None and result.pearson > 0.9
    assert scores == [float(min(5, max(1, round(i.mean_score)))) for i in items]
    sent = fake.history[0].messages[1]["content"]
    assert items[0].answer[:40] in sent and "<<REFERENCE ANSWER " in sent
    assert "Score 5:" in fake.history[0].messages[0]["content"]  # the rubric, with the criteria


def test_eval_judges_as_many_items_at_once_as_the_model_takes(tmp_path: Path) -> None:
    from jurist.cli.evaluation import model_concurrency
    from jurist.settings import Settings
    from jurist.settings.models import default_parallel

    assert model_concurrency(Settings(data_dir=tmp_path), "pai-judge") == default_parallel()  # engine slots
    models = {"judge": {"backend": "llama_cpp"}, "solo": {"backend": "llama_cpp", "parallel": 1}}
    settings = Settings(data_dir=tmp_path, models=models)
    assert model_concurrency(settings, "judge") == default_parallel()
    assert model_concurrency(settings, "solo") == 1
    assert model_concurrency(settings, "no-such-model") == 4
