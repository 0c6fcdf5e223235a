"""The examples every ``jurist`` command shows at the end of its ``--help`` (its epilog), and the help of
the command groups.

The layout, the same everywhere: an ``Example:`` or ``Examples:`` line, a blank line, then for each
example a line saying what it does (at the left margin) and the command, indented by two spaces (a long
one continued with ``\\``). Typer's rich help keeps these line breaks (it rewraps only a line wider than
the terminal, so the commands stay under 80 columns) and strips the margin common to the lines after
the first, which the description lines keep at zero. No rich markup (square brackets): the same text is
the CLI reference page's. ``tests/unit/test_cli_help.py`` checks that each command has one and that its
options are the command's."""

from __future__ import annotations

ROOT_HELP = """Jurist: a self-hostable LLM-as-a-Judge service.

An OpenAI-compatible judge API (`jurist serve`), batch workers, local batch
runs and reports, evals and regression gates for CI, and the tools to
measure a judge against human labels. Run `jurist COMMAND --help` for a
command's options and examples; `jurist --install-completion` adds tab
completion to your shell."""

ROOT = """Examples:

Start the server (it prints an API key on the first start):
  jurist serve
Judge a batch file locally, then report on it:
  jurist run batch.jsonl -o results.jsonl
  jurist report results.jsonl --input batch.jsonl
Print the version:
  jurist --version"""

SERVE = """Examples:

Serve on localhost:8000, with the settings of the environment:
  jurist serve
Serve on every interface, with a configuration file:
  JURIST_CONFIG=jurist.toml jurist serve --host 0.0.0.0 --port 8080"""

WORKER = """Example:

Four worker processes on the servers' PostgreSQL database:
  JURIST_DATABASE_URL=postgresql://jurist:secret@db.internal/jurist \\
      jurist worker --processes 4"""

DB_HELP = """Database schema.

The configured database: SQLite in the data dir, or PostgreSQL
(JURIST_DATABASE_URL) shared by several servers and workers."""

DB = """Example:

Migrate the shared database before starting the servers:
  JURIST_DATABASE_URL=postgresql://jurist:secret@db.internal/jurist \\
      jurist db upgrade"""

DB_UPGRADE = """Examples:

Migrate the SQLite database in the data dir:
  jurist db upgrade
Migrate a PostgreSQL database:
  JURIST_DATABASE_URL=postgresql://jurist:secret@db.internal/jurist \\
      jurist db upgrade"""

EVAL = """Examples:

Score another judge's committed judgments (PandaLM's table):
  jurist eval tests/data/pandalm/testset-v1.json \\
      --judgments tests/data/pandalm/gpt-3.5-turbo-testset-v1.json
Judge the first 100 pairs with pai-judge on a running server:
  jurist eval pairs.jsonl --model pai-judge --limit 100 --json report.json \\
      --server http://127.0.0.1:8000/v1 --key "$JURIST_KEY"
Selective verdicts: accept only where humans agree 90 % of the time:
  jurist eval test.jsonl --judgments test-judgments.jsonl \\
      --agreement-target 0.9 --delta 0.1 --calibration cal.jsonl \\
      --calibration-judgments cal-judgments.jsonl"""

RUN = """Examples:

Judge every line of batch.jsonl (failures go to results.errors.jsonl):
  jurist run batch.jsonl -o results.jsonl
The same with the failed lines elsewhere; run it again to resume:
  jurist run batch.jsonl -o results.jsonl --errors failed.jsonl"""

REPORT = """Examples:

Tables in the terminal:
  jurist report results.jsonl --input batch.jsonl --errors results.errors.jsonl
One self-contained HTML page:
  jurist report results.jsonl --input batch.jsonl --format html -o report.html
The JSON, with more bootstrap rounds:
  jurist report results.jsonl --format json --bootstrap 5000 -o report.json"""

USAGE = """Examples:

Usage per tenant over the last 30 days:
  jurist usage
One tenant's June, per day, as JSON:
  jurist usage --tenant acme --start 2025-06-01 --end 2025-06-30 \\
      --group-by day --json"""

DOCTOR = """Examples:

Check everything, with a 1-token call to each remote model:
  jurist doctor
Without network calls, with the configuration a bug report is about:
  JURIST_CONFIG=jurist.toml jurist doctor --offline"""

CONFIG_HELP = """Inspect the configuration.

What the server reads: JURIST_* variables, over the TOML file
JURIST_CONFIG names, over the defaults."""

CONFIG = """Example:

The configuration a file and the environment make:
  JURIST_CONFIG=jurist.toml jurist config show"""

CONFIG_SHOW = """Examples:

The effective configuration, as JSON:
  jurist config show
Only the models (with jq):
  jurist config show | jq .models"""

KEYS_HELP = """Manage API keys.

Tenants' keys live in the database, the same store as the admin API
(/v1/admin/keys); a server refuses a revoked key within
JURIST_KEY_CACHE_SECONDS. Without --tenant, `jurist keys create` adds a
key to the key file in the data dir instead (each such key its own tenant)."""

KEYS = """Examples:

A key for tenant acme, 600 requests a minute:
  jurist keys create --tenant acme --name ci --rpm 600
List, then revoke:
  jurist keys list --tenant acme
  jurist keys revoke key_0123456789abcdef"""

KEYS_CREATE = """Examples:

A key for tenant acme (created if new), with limits and a double share:
  jurist keys create --tenant acme --name ci --rpm 600 --tpm 200000 \\
      --max-batches 4 --weight 2
A key in the key file of the data dir, its own tenant:
  jurist keys create --label laptop"""

KEYS_LIST = """Examples:

Every key in the database:
  jurist keys list
Only tenant acme's:
  jurist keys list --tenant acme"""

KEYS_REVOKE = """Example:

Revoke a key by its id (from `jurist keys list`):
  jurist keys revoke key_0123456789abcdef"""

LABELS_HELP = """Human labels of a batch's lines.

Labels of the lines of a batch's output measure how far the judge agrees
with people (GET /v1/batches/ID/agreement); importing them posts them as
POST /v1/batches/ID/labels does and refits the calibrations they bear on."""

LABELS = """Example:

Import labels for a batch, as its tenant:
  jurist labels import labels.jsonl --batch batch_abc123 --key "$JURIST_KEY\""""

LABELS_IMPORT = """Example:

A JSONL file, a label a line, e.g. {"custom_id": "request-1", "label": "1"}:
  jurist labels import labels.jsonl --batch batch_abc123 --key "$JURIST_KEY\""""

EVALS_HELP = """Evals (the OpenAI Evals API) from YAML files.

One YAML file holds an eval and its run; `jurist evals run` grades it here
or on a server, resumably. Compare two runs with `jurist compare` and gate
a CI build on them with `jurist gate`."""

EVALS = """Example:

Grade an eval on a server, writing the output items:
  jurist evals run evals/qa.yaml --server "$JURIST_URL" --key "$JURIST_KEY" \\
      --out pr.jsonl"""

HEAD_TO_HEAD = """Examples:

The pull request's run against main's, judged pair by pair on a server:
  jurist head-to-head --eval eval_123 --base evalrun_main \\
      --candidate evalrun_pr --model pai-judge \\
      --question "{{item.question}}" \\
      --server https://jurist.example.com --key "$JURIST_KEY"
Here (this data dir), as JSON, with a 10 % significance level:
  jurist head-to-head --eval eval_123 --base evalrun_main \\
      --candidate evalrun_pr --model pai-judge \\
      --question "{{item.question}}" --alpha 0.1 --json
Start it and return (the run's id on stdout):
  jurist head-to-head --eval eval_123 --base evalrun_main \\
      --candidate evalrun_pr --model pai-judge --no-wait \\
      --server "$JURIST_URL" --key "$JURIST_KEY"
Report it later (anchored on the labels of its lines, if any):
  jurist head-to-head --eval eval_123 --run evalrun_h2h \\
      --server "$JURIST_URL" --key "$JURIST_KEY\""""

LEADERBOARD = """Examples:

The eval's runs ranked by their head-to-head runs, style-controlled:
  jurist leaderboard --eval eval_123
Without style control, more bootstrap rounds, as JSON, from a server:
  jurist leaderboard --eval eval_123 --no-style-control --rounds 1000 --json \\
      --server https://jurist.example.com --key "$JURIST_KEY\""""
