"""Evals, runs and output items: on SQLite and on PostgreSQL."""

from __future__ import annotations

from jurist.composition import Stores
from jurist.store.eval_records import EvalRecord, EvalRunRecord, ModelUsage, OutputItemRecord


def an_eval(eval_id: str, tenant: str = "t1", at: int = 1) -> EvalRecord:
    return EvalRecord(
        eval_id, tenant, f"name of {eval_id}", {"testing_criteria": [], "metadata": None}, at, at
    )


def a_run(run_id: str, eval_id: str = "eval_a", tenant: str = "t1", status: str = "queued") -> EvalRunRecord:
    return EvalRunRecord(run_id, tenant, eval_id, run_id, status, {"data_source": {"type": "jsonl"}}, 1, 1)


def an_item(index: int, status: str = "pass", run_id: str = "run_1", verdicts: str = "P") -> OutputItemRecord:
    return OutputItemRecord(
        f"oi_{run_id}_{index}_{status}", "t1", run_id, index, status, verdicts, {"i": index}, 1
    )


async def test_evals_belong_to_their_tenant_and_page_both_ways(stores: Stores) -> None:
    evals = stores.evals
    for i in range(5):
        await evals.add_eval(an_eval(f"eval_{i}", at=i))
    await evals.add_eval(an_eval("eval_other", tenant="t2"))
    assert await evals.get_eval("t2", "eval_1") is None
    assert (await evals.get_eval("t1", "eval_1")).name == "name of eval_1"  # type: ignore[union-attr]
    first = await evals.list_evals("t1", None, 2, "asc", False)
    assert [e.id for e in first.items] == ["eval_0", "eval_1"] and first.has_more
    rest = await evals.list_evals("t1", "eval_1", 10, "asc", False)
    assert [e.id for e in rest.items] == ["eval_2", "eval_3", "eval_4"] and not rest.has_more
    newest = await evals.list_evals("t1", None, 2, "desc", False)
    assert [e.id for e in newest.items] == ["eval_4", "eval_3"]
    assert (
        await evals.list_evals("t1", "eval_other", 10, "asc", False)
    ).items == []  # another tenant's cursor
    assert await evals.update_eval("t1", "eval_0", "renamed", {"metadata": {"a": "b"}}, 9)
    assert not await evals.update_eval("t2", "eval_0", "stolen", {}, 9)
    by_update = await evals.list_evals("t1", None, 10, "desc", True)
    assert by_update.items[0].id == "eval_0" and by_update.items[0].name == "renamed"
    after = await evals.list_evals("t1", "eval_0", 10, "desc", True)
    assert [e.id for e in after.items] == ["eval_4", "eval_3", "eval_2", "eval_1"]


async def test_runs_filter_by_status_and_change_only_from_given_statuses(stores: Stores) -> None:
    evals = stores.evals
    await evals.add_eval(an_eval("eval_a"))
    for i, status in enumerate(["queued", "completed", "queued"]):
        await evals.add_run(a_run(f"run_{i}", status=status))
    queued = await evals.list_runs("t1", "eval_a", None, 10, "asc", "queued")
    assert [r.id for r in queued.items] == ["run_0", "run_2"]
    assert not await evals.set_run("t1", "run_1", 5, status="canceled", only_from=("queued", "in_progress"))
    assert await evals.set_run(
        "t1", "run_0", 5, status="in_progress", batch_id="batch_9", only_from=("queued",)
    )
    assert (await evals.run_of_batch("batch_9")).id == "run_0"  # type: ignore[union-attr]
    assert await evals.set_run("t1", "run_0", 6, status="failed", error={"code": "x", "message": "y"})
    got = await evals.get_run("t1", "eval_a", "run_0")
    assert got is not None and got.status == "failed" and got.error == {"code": "x", "message": "y"}
    assert await evals.get_run("t2", "eval_a", "run_0") is None
    assert await evals.get_run("t1", "eval_b", "run_0") is None  # the run of another eval


async def test_a_row_graded_twice_is_one_item_and_counts_and_usage_add_up(stores: Stores) -> None:
    evals = stores.evals
    await evals.add_eval(an_eval("eval_a"))
    await evals.add_run(a_run("run_1"))
    await evals.put_items([(an_item(0, "fail", verdicts="PF"), [ModelUsage("m", 1, 10, 2, 0)])])
    await evals.put_items(
        [(an_item(0, "pass", verdicts="PP"), [ModelUsage("m", 1, 10, 3, 4)])]
    )  # after a crash
    errored = an_item(1, "error", verdicts="EP")
    await evals.put_items([(errored, [ModelUsage("m", 1, 5, 0, 0), ModelUsage("n", 1, 1, 1, 0)])])
    group = [
        (an_item(2, "pass", verdicts="PP"), []),
        (an_item(3, "fail", verdicts="FF"), [ModelUsage("n", 1, 0, 0, 0)]),
    ]
    await evals.put_items(
        [*group, (an_item(3, "pass", verdicts="PP"), [])]
    )  # row 3 twice in a group: the last wins
    page = await evals.list_items("t1", "run_1", None, 10, "asc", None)
    assert [(i.index, i.status) for i in page.items] == [(0, "pass"), (1, "error"), (2, "pass"), (3, "pass")]
    passed = await evals.list_items("t1", "run_1", None, 1, "desc", "pass")
    assert [i.index for i in passed.items] == [3] and passed.has_more
    assert [
        i.index for i in (await evals.list_items("t1", "run_1", passed.items[0].id, 5, "desc", "pass")).items
    ] == [2, 0]
    counts = await evals.counts("run_1")
    assert counts.statuses == {"pass": 3, "error": 1} and counts.verdicts == {"PP": 3, "EP": 1}
    assert await evals.usage("run_1") == [ModelUsage("m", 3, 25, 5, 4), ModelUsage("n", 2, 1, 1, 0)]
    item = page.items[0]
    assert (
        await evals.get_item("t1", "run_1", item.id) == item
        and await evals.get_item("t2", "run_1", item.id) is None
    )
    assert await evals.delete_eval("t1", "eval_a")
    assert await evals.get_run("t1", "eval_a", "run_1") is None and await evals.usage("run_1") == []
    assert (await evals.list_items("t1", "run_1", None, 10, "asc", None)).items == []
    assert not await evals.delete_eval("t1", "eval_a")


async def test_graded_rows_are_read_by_column_in_row_order(stores: Stores) -> None:
    evals = stores.evals
    await evals.add_eval(an_eval("eval_a"))
    await evals.add_run(a_run("run_1"))
    records = [
        OutputItemRecord(f"oi_{i}", "t1", "run_1", i, "pass" if i % 2 else "error", "PE" if i % 2 else "EE", {}, 1,
                         f"key|{i}" if i else "k0", (0.5, None) if i % 2 else (None, None))
        for i in (3, 0, 2, 1)
    ]  # fmt: skip
    await evals.put_items([(r, []) for r in records])
    found = await evals.graded_rows("t1", "run_1")
    assert found.indexes == [0, 1, 2, 3] and found.statuses == ["error", "pass", "error", "pass"]
    assert found.verdicts == ["EE", "PE", "EE", "PE"] and found.scores[1] == [0.5, None]
    assert found.keys[0] == "k0" and found.keys[1] == "key|1"  # a key holding the separator survives
    assert (await evals.graded_rows("t2", "run_1")).indexes == []
