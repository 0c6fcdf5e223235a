"""The ``python`` grader over real HTTP with the official SDK, on a server that turns it on
(``JURIST_PYTHON_GRADER``): ``graders/run`` scores with the caller's ``grade(sample, item)`` in the
sandbox, its own errors are flagged with their details, ``graders/validate`` and eval creation only
parse the source, and an eval run grades every row with it. Off (the default), it is a 400. And
``jurist doctor``'s report of it: off, or on with the sandbox protections a grade gets here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai import BadRequestError, OpenAI

from jurist.backends.fake import FakeBackend
from jurist.cli import doctor
from jurist.service.evals.python_grader import (
    ALL_PROTECTIONS,
    BASELINE_PROTECTIONS,
    PythonSandbox,
)
from jurist.settings import Settings
from tests.api.test_evals_sdk import finished
from tests.support.evals_schema import validate
from tests.support.live import LiveServer, live_server

EQUAL = (
    "def grade(sample, item):\n"
    "    if item['answer'] == 'boom':\n"
    "        raise ValueError('no answer to compare with')\n"
    "    return 1.0 if sample['output_text'] == item['answer'] else 0.0"
)
GRADER = {"type": "python", "name": "p", "source": EQUAL}
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
ROWS = [
    {"item": {"answer": "4"}, "sample": {"output_text": "4"}},
    {"item": {"answer": "Paris"}, "sample": {"output_text": "Paris"}},
    {"item": {"answer": "blue"}, "sample": {"output_text": "green"}},
    {"item": {"answer": "boom"}, "sample": {"output_text": "x"}},  # the grader raises: a fail, flagged
]


@pytest.fixture
def python_server(tmp_path: Path, fake: FakeBackend, judge_models: dict[str, Any]) -> Iterator[LiveServer]:
    """A live server with the python grader on (short limits: every grade is a child process)."""
    with live_server(
        tmp_path, models=judge_models, backends=dict.fromkeys(judge_models, fake),
        python_grader=True, python_grader_timeout_seconds=5,
    ) as srv:  # fmt: skip
        yield srv


@pytest.fixture
def python_client(python_server: LiveServer) -> OpenAI:
    return python_server.sdk()


def run(client: OpenAI, grader: dict[str, Any], sample: str, item: dict[str, Any]) -> dict[str, Any]:
    answer = client.fine_tuning.alpha.graders.run(grader=grader, model_sample=sample, item=item)  # type: ignore[arg-type]
    data: dict[str, Any] = orjson.loads(answer.to_json())
    validate("RunGraderResponse", data)
    return data


def raised(data: dict[str, Any]) -> list[str]:
    return [flag for flag, value in data["metadata"]["errors"].items() if value is True]


def test_a_python_grader_scores_a_sample(python_client: OpenAI) -> None:
    right = run(python_client, GRADER, "4", {"answer": "4"})
    assert right["reward"] == 1.0 and raised(right) == []
    assert right["metadata"]["type"] == "python" and right["metadata"]["name"] == "p"
    assert right["metadata"]["scores"] == {"p": 1.0}
    wrong = run(python_client, GRADER, "5", {"answer": "4"})
    assert wrong["reward"] == 0.0 and raised(wrong) == []


def test_a_raising_grader_scores_0_with_its_error_flagged(python_client: OpenAI) -> None:
    found = run(python_client, GRADER, "x", {"answer": "boom"})
    errors = found["metadata"]["errors"]
    assert found["reward"] == 0.0 and raised(found) == ["python_grader_runtime_error"]
    assert (
        errors["python_grader_runtime_error_details"]
        == "runtime_error: ValueError: no answer to compare with"
    )
    missing = run(python_client, GRADER, "x", {})  # item['answer'] is a KeyError of the grader's
    assert (
        missing["reward"] == 0.0
        and "KeyError" in missing["metadata"]["errors"]["python_grader_runtime_error_details"]
    )


def test_validate_and_eval_creation_never_run_the_source(python_client: OpenAI, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = (
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "def grade(sample, item):\n"
        "    return 1.0\n"
    )  # fmt: skip
    grader = {"type": "python", "name": "p", "source": source}
    answer = python_client.fine_tuning.alpha.graders.validate(grader=grader)  # type: ignore[arg-type]
    assert orjson.loads(answer.to_json())["grader"] == grader
    made = python_client.evals.create(
        data_source_config={"type": "custom", "item_schema": SCHEMA},
        testing_criteria=[grader],  # type: ignore[list-item]
    )
    assert made.testing_criteria[0].type == "python"
    assert not marker.exists()
    ran = run(python_client, grader, "x", {"answer": "x"})  # run: in the sandbox, where nothing is written
    assert ran["reward"] == 0.0 and "refuses to open files for writing" in str(
        ran["metadata"]["errors"]["python_grader_runtime_error_details"]
    )
    assert not marker.exists()
    with pytest.raises(BadRequestError) as refused:
        python_client.fine_tuning.alpha.graders.validate(
            grader={**grader, "source": "def grade(sample):\n    return 1"}
        )  # type: ignore[arg-type]
    assert refused.value.param == "grader.source"  # type: ignore[attr-defined]


def test_an_eval_run_grades_every_row_with_the_python_grader(python_client: OpenAI) -> None:
    made = python_client.evals.create(
        name="python",
        data_source_config={"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True},
        testing_criteria=[GRADER],  # type: ignore[list-item]
    )
    began = time.monotonic()
    run_ = python_client.evals.runs.create(
        made.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": ROWS}}
    )
    done = finished(python_client, made.id, run_.id, timeout=25)
    assert time.monotonic() - began < 25
    assert done.status == "completed"
    assert done.result_counts.model_dump() == {"total": 4, "errored": 0, "failed": 2, "passed": 2}
    [per] = done.per_testing_criteria_results
    assert (per.passed, per.failed) == (2, 2)
    items = list(python_client.evals.runs.output_items.list(run_.id, eval_id=made.id))
    assert [i.status for i in items] == ["pass", "pass", "fail", "fail"]
    assert [r.score for i in items for r in i.results] == [1.0, 1.0, 0.0, 0.0]
    boom = items[3].results[0]
    assert boom.sample == {
        "python_grader_runtime_error": "runtime_error: ValueError: no answer to compare with"
    }


def test_an_invalid_source_is_a_400_naming_it(python_client: OpenAI) -> None:
    with pytest.raises(BadRequestError) as refused:
        python_client.evals.create(
            data_source_config={"type": "custom", "item_schema": SCHEMA},
            testing_criteria=[{**GRADER, "source": "def grade(sample, item)\n    return 1"}],  # type: ignore[list-item]
        )
    assert refused.value.param == "testing_criteria[0].source"  # type: ignore[attr-defined]
    assert "line 1" in refused.value.message


def test_off_by_default_a_python_criterion_is_a_400(client: OpenAI) -> None:
    with pytest.raises(BadRequestError) as refused:
        client.evals.create(
            data_source_config={"type": "custom", "item_schema": SCHEMA},
            testing_criteria=[GRADER],  # type: ignore[list-item]
        )
    assert refused.value.status_code == 400
    assert refused.value.code == "python_grader_disabled"  # type: ignore[attr-defined]
    assert refused.value.param == "testing_criteria[0].type"  # type: ignore[attr-defined]


def test_a_sandbox_fault_is_a_server_error_not_the_graders(
    python_client: OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PythonSandbox, "_cannot_start", lambda self: "the test took the interpreter away")
    found = run(python_client, GRADER, "4", {"answer": "4"})
    assert found["reward"] == 0.0
    assert raised(found) == ["python_grader_server_error"]
    assert found["metadata"]["errors"]["python_grader_server_error_type"] == "sandbox_unavailable"


# ---------------------------------------------------------------- jurist doctor


class _Probed:
    """A sandbox as the doctor sees it, with the protections a test gives it."""

    active: tuple[str, ...] = ()

    def __init__(self, timeout_seconds: float, memory_mb: int) -> None:
        self.required = BASELINE_PROTECTIONS

    def protections(self) -> list[str]:
        return list(self.active)

    def unavailable_protections(self) -> dict[str, str]:
        return {name: "not here" for name in ALL_PROTECTIONS if name not in self.active}


@pytest.mark.parametrize(
    ("active", "status", "said"),
    [
        (ALL_PROTECTIONS, "ok", "on (10 s, 512 MB), 20 sandbox protections active"),
        (BASELINE_PROTECTIONS, "warn", "without the kernel protections network_namespace, mount_namespace"),
        (BASELINE_PROTECTIONS[1:], "fail", "every grade is refused: empty_env missing"),
    ],
    ids=["strict", "baseline", "refusing"],
)
def test_doctor_reports_the_python_grader_and_its_protections(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, active: tuple[str, ...], status: str, said: str
) -> None:
    settings = Settings(data_dir=tmp_path, python_grader=True)
    monkeypatch.setattr(doctor, "SandboxedPython", type("Probed", (_Probed,), {"active": active}))
    [check, listed] = doctor.python_grader(settings)
    assert (check.name, check.status) == ("python grader", status) and said in check.detail, check.detail
    assert listed.detail == " ".join(active)


def test_doctor_reports_the_python_grader_off_or_as_it_is_here(tmp_path: Path) -> None:
    [off] = doctor.python_grader(Settings(data_dir=tmp_path, python_grader=False))
    assert (off.status, off.detail) == ("skip", "off (JURIST_PYTHON_GRADER=true turns it on)")
    on = doctor.python_grader(Settings(data_dir=tmp_path, python_grader=True))
    here = PythonSandbox()
    assert on[0].status in ("ok", "warn") and on[1].detail == " ".join(here.protections())
    for name, why in here.unavailable_protections().items():
        assert f"{name} ({why})" in on[0].detail
