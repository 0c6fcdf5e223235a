"""``jurist head-to-head`` and ``jurist leaderboard`` as real processes (the installed ``jurist``) against a
live server whose judge is scripted (``PrefersGood``: the answer saying GOOD wins), and here, on a data
dir, with the judge stub as the remote judge (the longer answer wins): the printed figures are the API's,
``--json`` prints the API's JSON, a refused request is exit 2 naming its ``param``, a canceled run exit 1,
Ctrl-C exit 130 (the run goes on), and the board ranks the runs by their head-to-head runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI
from typer.testing import CliRunner, Result

from jurist.cli.main import app
from tests.api.test_head_to_head import (
    Pausable,
    an_eval,
    answers,
    finished,
    head_to_head,
    raw,
    run_of,
)
from tests.support.live import LiveServer, StubUpstream, live_server
from tests.support.nodes import env_for
from tests.support.services import API_KEY, FAKE_MODELS

JURIST = str(Path(sys.executable).parent / "jurist")
QUESTION = "{{item.question}}"


@pytest.fixture
def judge() -> Iterator[Pausable]:
    backend = Pausable()
    yield backend
    backend.paused.clear()  # no judge call left hanging when the server stops


@pytest.fixture
def server(tmp_path: Path, judge: Pausable) -> Iterator[LiveServer]:
    with live_server(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, judge)) as srv:
        yield srv


@pytest.fixture
def client(server: LiveServer) -> OpenAI:
    return server.sdk(API_KEY)


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURIST_")}
    return {**env, "JURIST_DATA_DIR": str(tmp_path / "cli-data")}  # --server: this dir is never read


def jurist(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JURIST, *args], env=env, capture_output=True, text=True, timeout=timeout)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="jurist")


def on(server: LiveServer) -> list[str]:
    return ["--server", server.base_url.removesuffix("/v1"), "--key", API_KEY]


def cells(output: str) -> dict[str, str]:
    """A two-column Markdown table's rows, ``{figure: value}`` (the header and the rule left out)."""
    rows = [line.strip("|").split("|") for line in output.splitlines() if line.startswith("| ")]
    return {a.strip(): b.strip() for a, b in (r for r in rows if len(r) == 2) if a.strip() != "figure"}


def rate(found: dict[str, Any] | None) -> str:
    assert found is not None
    return f"{100 * found['estimate']:.1f}% [{100 * found['ci_low']:.1f}%, {100 * found['ci_high']:.1f}%]"


def check_table(output: str, figures: dict[str, Any]) -> None:
    """What ``jurist head-to-head`` printed is the API's figures."""
    shown, level = cells(output), f"{100 * (1 - figures['alpha']):g}% CI"
    assert shown["candidate wins"] == str(figures["candidate_wins"])
    assert shown["ties"] == str(figures["ties"]) and shown["base wins"] == str(figures["base_wins"])
    assert shown[f"win rate [{level}]"] == rate(figures["win_rate"])
    assert shown[f"tie rate [{level}]"] == rate(figures["tie_rate"])
    assert shown[f"position consistency [{level}]"] == rate(figures["position_consistency"])
    assert shown["p (sign test)"] == f"{figures['p_value']:.3g}"
    assert shown[f"decision (margin {100 * figures['margin']:g} pts)"] == figures["decision"]
    needed = figures["items_needed"]
    assert shown["items needed"] == ("-" if needed is None else str(needed))
    assert f"Run `{figures['run_id']}` (completed)" in output


def run_id_in(output: str) -> str:
    return output.split("Run `", 1)[1].split("`", 1)[0]


def test_a_head_to_head_on_a_server_prints_the_apis_figures(
    tmp_path: Path, server: LiveServer, client: OpenAI
) -> None:
    eval_id = an_eval(client)
    base = run_of(client, eval_id, answers(30, lambda i: i % 5 == 0))
    candidate = run_of(client, eval_id, answers(30, lambda i: i % 5 != 4))
    args = ["head-to-head", "--eval", eval_id, "--base", base, "--candidate", candidate,
            "--model", "pai-judge", "--question", QUESTION, *on(server)]  # fmt: skip
    done = jurist(*args, env=clean_env(tmp_path))
    assert done.returncode == 0, done.stderr
    run_id = run_id_in(done.stdout)
    assert f"started head-to-head run {run_id} of eval {eval_id}" in done.stderr
    figures = raw(client.get(f"/evals/{eval_id}/runs/{run_id}/head_to_head", cast_to=object))
    assert (figures["candidate_wins"], figures["ties"], figures["base_wins"]) == (18, 12, 0)
    assert figures["decision"] == "better"
    check_table(done.stdout, figures)
    assert (
        cells(done.stdout)["candidate wins"] == "18"
        and cells(done.stdout)["decision (margin 2 pts)"] == "better"
    )
    assert f"candidate `{candidate}` vs base `{base}`" in done.stdout
    assert "30 items judged, 0 errored, of 30 paired" in done.stdout
    assert "Anchored" not in done.stdout  # no labels yet

    # labels of its lines, posted since: --run reports the run again, its win rate anchored on them
    batch_id = raw(client.get(f"/evals/{eval_id}/runs/{run_id}", cast_to=object))["jurist"]["batch_id"]
    labels = [{"custom_id": f"row-{i}", "label": "1" if i % 2 else "tie"} for i in range(20)]
    client.post(f"/batches/{batch_id}/labels", body=labels, cast_to=object)
    again = invoke("head-to-head", "--eval", eval_id, "--run", run_id, *on(server))
    assert again.exit_code == 0, again.stderr
    figures = raw(client.get(f"/evals/{eval_id}/runs/{run_id}/head_to_head", cast_to=object))
    check_table(again.stdout, figures)
    anchored = figures["anchored"]
    judge, ppi = anchored["win_rate"]["judge_only"], anchored["win_rate"]["ppi"]
    assert anchored["labels"] == 20 and ppi["estimate"] != judge["estimate"]
    row = (f"| win rate | 20 | {100 * judge['estimate']:.1f}% | {100 * ppi['estimate']:.1f}% | "
           f"[{100 * ppi['ci_low']:.1f}%, {100 * ppi['ci_high']:.1f}%] | {ppi['effective_labels']:.0f} |")  # fmt: skip
    assert "Anchored on human labels of `head_to_head` (PPI++):" in again.stdout and row in again.stdout

    # the other way round, named, at another level, as JSON: the API's answer for that run
    args = ["head-to-head", "--eval", eval_id, "--base", candidate, "--candidate", base, "--model",
            "pai-judge", "--question", QUESTION, "--name", "back", "--alpha", "0.1", "--margin", "0.05",
            "--json", *on(server)]  # fmt: skip
    again = jurist(*args, env=clean_env(tmp_path))
    assert again.returncode == 0, again.stderr
    printed = json.loads(again.stdout)
    query = "alpha=0.1&margin=0.05"
    answer = raw(
        client.get(f"/evals/{eval_id}/runs/{printed['run_id']}/head_to_head?{query}", cast_to=object)
    )
    assert printed == answer and printed["decision"] == "worse" and printed["alpha"] == 0.1
    assert client.evals.runs.retrieve(printed["run_id"], eval_id=eval_id).name == "back"


def test_refusals_and_bad_usage_exit_2_naming_the_parameter(
    tmp_path: Path, server: LiveServer, client: OpenAI
) -> None:
    eval_id = an_eval(client)
    base = run_of(client, eval_id, answers(4, lambda i: False))
    candidate = run_of(client, eval_id, answers(4, lambda i: True))
    env = clean_env(tmp_path)
    common = ["--eval", eval_id, "--candidate", candidate, "--model", "pai-judge", "--question", QUESTION]

    unknown = jurist("head-to-head", *common, "--base", "evalrun_nope", *on(server), env=env)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "evalrun_nope" in unknown.stderr and "(param: base)" in unknown.stderr
    no_key = jurist("head-to-head", *common, "--base", base, "--server", server.base_url, env=env)
    assert no_key.returncode == 2 and "--key is needed with --server" in no_key.stderr
    # the rest in this process (the same code, quicker than a process each)
    bad_alpha = invoke("head-to-head", *common, "--base", base, "--alpha", "0.9", *on(server))
    assert bad_alpha.exit_code == 2 and "(param: alpha)" in bad_alpha.stderr
    judge = invoke("head-to-head", *common[:4], "--base", base, "--model", "nope", *on(server))
    assert judge.exit_code == 2 and "(param: model)" in judge.stderr
    no_board = invoke("leaderboard", "--eval", eval_id, *on(server))
    assert no_board.exit_code == 2 and "(param: eval_id)" in no_board.stderr
    wrong_key = invoke("leaderboard", "--eval", eval_id, "--server", server.base_url, "--key", "sk-wrong")
    assert wrong_key.exit_code == 2 and wrong_key.stderr.startswith("jurist leaderboard: ")
    no_key = invoke("leaderboard", "--eval", eval_id, "--server", server.base_url)
    assert no_key.exit_code == 2 and "--key is needed with --server" in no_key.stderr
    no_model = invoke("head-to-head", *common[:4], "--base", base, *on(server))
    assert no_model.exit_code == 2 and "--base, --candidate and --model are needed" in no_model.stderr
    both = invoke("head-to-head", "--eval", eval_id, "--run", base, "--base", base, *on(server))
    assert both.exit_code == 2 and "--run reports an existing run" in both.stderr
    no_run = invoke("head-to-head", "--eval", eval_id, "--run", "evalrun_nope", *on(server))
    assert no_run.exit_code == 2 and "(param: run)" in no_run.stderr
    not_one = invoke("head-to-head", "--eval", eval_id, "--run", base, *on(server))  # not a head-to-head run
    assert not_one.exit_code == 2 and "(param: run_id)" in not_one.stderr
    # none of the refused requests started a run
    assert {r.id for r in client.evals.runs.list(eval_id)} == {base, candidate}


def test_a_canceled_run_exits_1_and_ctrl_c_leaves_the_run_going(
    tmp_path: Path, server: LiveServer, client: OpenAI, judge: Pausable
) -> None:
    eval_id = an_eval(client)
    base = run_of(client, eval_id, answers(6, lambda i: False))
    candidate = run_of(client, eval_id, answers(6, lambda i: True))
    judge.paused.set()
    args = [JURIST, "head-to-head", "--eval", eval_id, "--base", base, "--candidate", candidate,
            "--model", "pai-judge", "--question", QUESTION, *on(server)]  # fmt: skip
    started = []
    for _ in range(2):
        proc = subprocess.Popen(
            args, env=clean_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the signal handlers are in place once it says so
        assert line.startswith("started head-to-head run evalrun_"), line
        started.append((proc, line.split()[3]))
    (interrupted, first), (canceled, second) = started
    interrupted.send_signal(signal.SIGINT)
    _, said = interrupted.communicate(timeout=30)
    assert interrupted.returncode == 130, said
    assert f"stopped following run {first}: it goes on on the server" in said
    assert client.evals.runs.retrieve(first, eval_id=eval_id).status in ("queued", "in_progress")
    client.evals.runs.cancel(second, eval_id=eval_id)
    out, said = canceled.communicate(timeout=30)
    assert canceled.returncode == 1, said
    assert f"run {second} canceled" in said and out == ""
    judge.paused.clear()
    assert finished(client, eval_id, first).status == "completed"  # the interrupted one went on


def board_rows(output: str) -> list[list[str]]:
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in output.splitlines()
        if line.startswith("| ")
    ]
    return [r for r in rows if len(r) == 7 and r[0].isdigit()]


def test_the_leaderboard_ranks_the_runs_as_the_api_does(
    tmp_path: Path, server: LiveServer, client: OpenAI
) -> None:
    eval_id = an_eval(client)
    weak = run_of(client, eval_id, answers(24, lambda i: i % 4 == 0))
    middle = run_of(client, eval_id, answers(24, lambda i: i % 2 == 0))
    strong = run_of(client, eval_id, answers(24, lambda i: i % 4 != 3))
    env = clean_env(tmp_path)
    # one started by the CLI without waiting (its JSON: the run object), two through the API
    args = ["head-to-head", "--eval", eval_id, "--base", weak, "--candidate", middle, "--model", "pai-judge",
            "--question", QUESTION, "--no-wait", "--json", *on(server)]  # fmt: skip
    started = jurist(*args, env=env)
    assert started.returncode == 0, started.stderr
    run = json.loads(started.stdout)
    assert run["object"] == "eval.run" and run["data_source"]["type"] == "jurist_head_to_head"
    assert "not waiting: the run goes on on the server" in started.stderr
    finished(client, eval_id, run["id"])
    for base, candidate in ((middle, strong), (weak, strong)):
        finished(client, eval_id, head_to_head(client, eval_id, base=base, candidate=candidate, model="pai-judge",
                                               question=QUESTION)["id"])  # fmt: skip

    shown = jurist("leaderboard", "--eval", eval_id, "--rounds", "50", *on(server), env=env)
    assert shown.returncode == 0, shown.stderr
    board = raw(client.get(f"/evals/{eval_id}/leaderboard?rounds=50", cast_to=object))
    rows = board_rows(shown.stdout)
    assert [r[1] for r in rows] == [f"`{strong}`", f"`{middle}`", f"`{weak}`"]
    for row, rating in zip(rows, board["data"], strict=True):
        assert (
            row[3] == f"{rating['rating']:.1f}"
            and row[4] == f"[{rating['ci_low']:.1f}, {rating['ci_high']:.1f}]"
        )
        assert row[5] == str(rating["battles"]) and row[6] == f"{rating['win_rate']:.1%}"
    assert "72 battles from 3 head-to-head runs" in shown.stdout and "style control:" in shown.stdout
    features = [line.split("|")[1].strip() for line in shown.stdout.splitlines()[-4:]]
    assert features == ["length", "headers", "bold", "lists"]

    plain = jurist(
        "leaderboard",
        "--eval",
        eval_id,
        "--no-style-control",
        "--rounds",
        "50",
        "--json",
        *on(server),
        env=env,
    )
    assert plain.returncode == 0, plain.stderr
    answer = raw(client.get(f"/evals/{eval_id}/leaderboard?style_control=false&rounds=50", cast_to=object))
    assert json.loads(plain.stdout) == answer and answer["style"] == []
    assert [r["run_id"] for r in answer["data"]] == [strong, middle, weak]


def test_here_a_worker_in_the_command_judges_the_run(tmp_path: Path) -> None:
    """No --server: the run is judged on this data dir by the command's own worker; a server on the same
    data dir then answers the same figures and board."""
    short = {"item": {"question": "Q?"}, "sample": {"output_text": "short"}}
    with StubUpstream(script="judge_stub.py") as stub:
        models = {"pai-judge": {"backend": "openai", "base_url": stub.base_url}}
        with live_server(tmp_path, models=models) as first:
            client = first.sdk(API_KEY)
            eval_id = an_eval(client)
            base = run_of(client, eval_id, [{**short, "item": {"question": f"Q{i}?"}} for i in range(12)])
            longer = [{"item": {"question": f"Q{i}?"}, "sample": {"output_text": "short" if i % 4 == 3 else
                       f"a longer, more complete answer {i:02d}"}} for i in range(12)]  # fmt: skip
            candidate = run_of(client, eval_id, longer)
        env = env_for(tmp_path, stub)  # pai-judge is the stub, the data dir is the server's
        args = ["head-to-head", "--eval", eval_id, "--base", base, "--candidate", candidate,
                "--model", "pai-judge", "--question", QUESTION, "--key", API_KEY]  # fmt: skip
        done = jurist(*args, env=env)
        assert done.returncode == 0, done.stderr
        run_id = run_id_in(done.stdout)
        # not as the key's tenant: that eval is not there
        elsewhere = CliRunner().invoke(app, ["leaderboard", "--eval", eval_id], env=env, prog_name="jurist")
        assert elsewhere.exit_code == 2 and "(param: eval_id)" in elsewhere.stderr
        here = CliRunner().invoke(
            app, ["leaderboard", "--eval", eval_id, "--rounds", "20", "--json", "--key", API_KEY], env=env
        )
        assert here.exit_code == 0, here.stderr
        with live_server(tmp_path, models=models) as again:
            client = again.sdk(API_KEY)
            figures = raw(client.get(f"/evals/{eval_id}/runs/{run_id}/head_to_head", cast_to=object))
            board = raw(client.get(f"/evals/{eval_id}/leaderboard?rounds=20", cast_to=object))
    assert (figures["candidate_wins"], figures["ties"], figures["base_wins"]) == (9, 3, 0)
    check_table(done.stdout, figures)
    assert json.loads(here.stdout) == board
    assert [r["run_id"] for r in board["data"]] == [candidate, base]
