"""Human labels of batch lines: on SQLite and on PostgreSQL."""

from __future__ import annotations

from jurist.composition import Stores
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
