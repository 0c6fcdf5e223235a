"""Human labels of batch lines: on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from jurist.composition import Stores
from jurist.store import labels as labels_module
from jurist.store.labels import LabelRecord


def label(custom_id: str, annotator: str, value: object, tenant: str = "t1", at: int = 1) -> LabelRecord:
    return LabelRecord(tenant, "batch-1", custom_id, annotator, value, None, at)  # type: ignore[arg-type]


async def test_labels_replace_list_and_delete_per_tenant(stores: Stores) -> None:
    labels = stores.labels
    await labels.put([label("b", "ann", "1"), label("a", "ann", "tie"), label("a", "bob", 4)])
    await labels.put([label("a", "ann", "2", at=2)])  # the same (custom_id, annotator): replaced
    found = await labels.list("t1", "batch-1")
    assert [(r.custom_id, r.annotator, r.label, r.created_at) for r in found] == [
        ("a", "ann", "2", 2),
        ("a", "bob", 4, 1),
        ("b", "ann", "1", 1),
    ]
    assert await labels.list("t2", "batch-1") == []  # another tenant sees none of them
    assert not await labels.delete("t2", "batch-1", "b", "ann")  # another tenant's label
    assert await labels.delete("t1", "batch-1", "b", "ann")
    assert not await labels.delete("t1", "batch-1", "b", "ann")
    assert [r.custom_id for r in await labels.list("t1", "batch-1")] == ["a", "a"]


async def test_a_label_keeps_its_note_and_criteria(stores: Stores) -> None:
    criteria = {"Accuracy": 5, "Timeliness": None}
    await stores.labels.put(
        [
            LabelRecord("t1", "batch-2", "x", "default", 4, "unsure", 7, criteria),
            LabelRecord("t1", "batch-2", "y", "default", 3, None, 7),
        ]
    )
    found = await stores.labels.list("t1", "batch-2")
    assert [(r.custom_id, r.label, r.criteria, r.note) for r in found] == [
        ("x", 4, criteria, "unsure"),
        ("y", 3, None, None),
    ]


async def test_tallies_count_each_overall_label_per_line_and_tenant(stores: Stores) -> None:
    await stores.labels.put(
        [
            label("a", "ann", "1"), label("a", "bob", "1"), label("a", "cy", "tie"),
            LabelRecord("t1", "batch-1", "b", "ann", 4, None, 1, {"Accuracy": 4}),
            LabelRecord("t1", "batch-1", "b", "bob", 4, None, 1, {"Accuracy": 2}),  # other criteria, same overall
            LabelRecord("t1", "batch-1", "b", "cy", 3, None, 1),
            LabelRecord("t2", "batch-1", "z", "ann", "2", None, 1),  # another tenant's
            LabelRecord("t1", "batch-9", "a", "ann", "2", None, 1),  # another batch's
        ]
    )  # fmt: skip
    found = await stores.labels.tallies("t1", "batch-1")
    assert found == {"a": {"1": 2, "tie": 1}, "b": {4: 2, 3: 1}}
    assert await stores.labels.tallies("t2", "batch-1") == {"z": {"2": 1}}
    assert await stores.labels.tallies("t3", "batch-1") == {}


async def test_a_put_of_many_labels_in_chunks_keeps_the_last_of_a_repeated_key(stores: Stores) -> None:
    many = [label(f"c{i}", "ann", "1" if i % 3 else "tie") for i in range(2500)]  # 3 chunks
    many.append(label("c7", "ann", "2", at=9))  # c7 again, in another chunk: the later wins
    await stores.labels.put(many)
    found = {r.custom_id: (r.label, r.created_at) for r in await stores.labels.list("t1", "batch-1")}
    assert len(found) == 2500 and found["c7"] == ("2", 9) and found["c9"] == ("tie", 1)


async def test_tallies_of_more_lines_than_a_page(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "TALLY_PAGE", 7)  # pages of 7 rows, many of them
    monkeypatch.setattr(labels_module, "_TALLY_PAGE", labels_module._TALLY_PAGE.replace("5000", "7"))
    many = [label(f"c{i:02}", a, "1" if (i + k) % 3 else "2") for i in range(20) for k, a in enumerate("xyz")]
    await stores.labels.put(many)
    found = await stores.labels.tallies("t1", "batch-1")
    assert len(found) == 20 and sum(sum(c.values()) for c in found.values()) == 60
    assert found["c00"] == {"1": 2, "2": 1} and found["c02"] == {"1": 2, "2": 1}
