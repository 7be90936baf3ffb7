"""The single-process behaviour of the distributed helpers, and the speed settings' choices, on hand-made cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from monailabel.datastore.local import LocalDatastore

from lib.datastore.image_infos import store_image_infos
from lib.distributed import all_gather_objects, all_reduce_sum, backend_for, shard
from lib.runtime import autocast_dtype
from lib.scoring import SCORE_KEY
from lib.tools import demo_data


def test_shards_are_round_robin_and_cover_every_item_once() -> None:
    items = list("abcdefg")
    shards = [shard(items, r, 3) for r in range(3)]
    assert shards == [["a", "d", "g"], ["b", "e"], ["c", "f"]]
    assert sorted(sum(shards, [])) == items
    with pytest.raises(ValueError, match="shard_rank"):
        shard(items, 3, 3)


def test_without_a_process_group_collectives_are_the_identity() -> None:
    value = torch.tensor([1.5, 2.0])
    assert all_reduce_sum(value) is value
    assert all_gather_objects({"a": 1}) == [{"a": 1}]
    assert shard([1, 2, 3]) == [1, 2, 3]


def test_backend_is_nccl_for_gpus_and_gloo_for_cpus() -> None:
    assert backend_for("cuda:1") == "nccl"
    assert backend_for(torch.device("cpu")) == "gloo"


def test_mixed_precision_never_applies_on_cpu_and_none_turns_it_off() -> None:
    for setting in ("auto", "bfloat16", "float16", "none"):
        assert autocast_dtype(setting, "cpu") is None
    assert autocast_dtype("none", "cuda") is None
    assert autocast_dtype("float16", "cuda:0") is torch.float16


def test_many_scores_are_stored_with_one_datastore_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = demo_data.generate(tmp_path / "data", num=3, labeled=0, seed=1, shape=(16, 16, 16))
    datastore = LocalDatastore(str(tmp_path / "data"), auto_reload=False)
    writes = []
    write = datastore._update_datastore_file
    monkeypatch.setattr(datastore, "_update_datastore_file", lambda: writes.append(1) or write())
    store_image_infos(datastore, {image_id: {SCORE_KEY: 0.1 * i} for i, image_id in enumerate(ids)})
    assert len(writes) == 1
    on_disk = json.loads((tmp_path / "data" / "datastore_v2.json").read_text())["objects"]
    assert [on_disk[i]["image"]["info"][SCORE_KEY] for i in ids] == pytest.approx([0.0, 0.1, 0.2])
