"""``jurist keys create|list|revoke`` on the database a server uses (real SQLite), and ``jurist keys
create`` without a tenant adding to the key file as before."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.backends.fake import FakeBackend
from jurist.cli.main import app
from jurist.store.keys import digest
from tests.support.inprocess import in_process_server
from tests.support.services import FAKE_MODELS


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("JURIST_DATA_DIR", str(tmp_path / "data"))  # the in-process server's data dir
    return CliRunner()


def test_keys_created_listed_and_revoked_from_the_cli_reach_the_server(
    tmp_path: Path, runner: CliRunner
) -> None:
    made = runner.invoke(
        app, ["keys", "create", "--tenant", "acme", "--name", "ci", "--rpm", "60", "--weight", "2"]
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("sk-jurist-") and "\n" not in secret  # stdout is the key alone
    key_id = "key_" + digest(secret)[:16]
    assert key_id in made.stderr
    assert runner.invoke(app, ["keys", "create", "--tenant", "globex", "--name", "other"]).exit_code == 0

    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    assert _cells(listed.stdout, key_id)[:3] == [key_id, "ci", "acme"]
    assert _cells(listed.stdout, key_id)[4:] == ["-", "-"]  # not used yet, not revoked
    assert "globex" in listed.stdout and "acme" in listed.stdout and "ci" in listed.stdout
    only = runner.invoke(app, ["keys", "list", "--tenant", "globex"])
    assert only.exit_code == 0 and key_id not in only.stdout and "other" in only.stdout

    with in_process_server(tmp_path, models=FAKE_MODELS, backends=dict.fromkeys(FAKE_MODELS, FakeBackend()),
                           run_worker=False) as srv:  # fmt: skip
        headers = {"Authorization": f"Bearer {secret}"}
        assert srv.request("GET", f"{srv.base_url}/models", headers=headers).status == 200
        revoked = runner.invoke(app, ["keys", "revoke", key_id])
        assert revoked.exit_code == 0 and f"revoked {key_id}" in revoked.stdout
        deadline = time.monotonic() + 1.5
        while srv.request("GET", f"{srv.base_url}/models", headers=headers).status == 200:
            assert time.monotonic() < deadline, "the server still accepts the key revoked by the CLI"
            time.sleep(0.05)
    listed = runner.invoke(app, ["keys", "list", "--tenant", "acme"])
    cells = _cells(listed.stdout, key_id)
    assert cells[:3] == [key_id, "ci", "acme"]
    assert cells[4] != "-" and cells[5] != "-"  # last used (by the server), and revoked


def _cells(output: str, key_id: str) -> list[str]:
    row = next(line for line in output.splitlines() if key_id in line)
    return [cell.strip() for cell in row.split("│") if cell.strip()]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tenant", "acme", "--name", "ci", "--rpm", "0"], "--rpm"),
        (["--tenant", "acme", "--name", "ci", "--max-queued-lines", "-3"], "--max-queued-lines"),
        (["--tenant", "acme", "--name", "ci", "--weight", "0"], "--weight"),
        (["--tenant", "key_abc", "--name", "ci"], "--tenant"),
        (["--tenant", "acme"], "--name"),
        (["--rpm", "5"], "--tenant"),
    ],
)
def test_bad_options_name_the_option(runner: CliRunner, args: list[str], says: str) -> None:
    result = runner.invoke(app, ["keys", "create", *args])
    assert result.exit_code == 2 and says in result.stderr, result.output
    assert result.stdout == ""


def test_revoking_an_unknown_key_fails(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "revoke", "key_0000000000000000"])
    assert result.exit_code == 1 and "No API key" in result.stderr


def test_without_a_tenant_the_key_goes_to_the_key_file(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "create", "--label", "ci"])
    assert result.exit_code == 0, result.output
    stored = json.loads((tmp_path / "data" / "api_keys.json").read_text())["keys"]
    assert [(k["digest"], k["label"]) for k in stored] == [(digest(result.stdout.strip()), "ci")]
