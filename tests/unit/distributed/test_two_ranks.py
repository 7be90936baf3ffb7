"""Two real training ranks on CPU (Gloo on the loopback interface), spawned and run as MONAI Label's multi-GPU
training runs them (``BasicTrainTask.train`` per rank; task, network and transforms pickled): they finish, end with
the same weights, and the loss's cross-rank reductions equal those of one process given the concatenated batch.

One spawn serves every test here: importing MONAI and MONAI Label in each rank costs more than the training."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
from monailabel.datastore.local import LocalDatastore

from lib.config import load_config
from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter, SubnetOutput
from lib.tools import demo_data
from lib.trainers import UncertaintyContrastiveTrain
from tests.unit.distributed.ranks import free_port, run_ranks

NUM_CLASSES = 3


def _global_batch() -> dict[str, torch.Tensor]:
    """Two labeled and two unlabeled items, made the same in every process. Item 0's labeled logits favour
    subnet vnet by a little and item 1's favour subnet resnet by a lot, so the ranks' local choices of the better
    subnet differ."""
    g = torch.Generator().manual_seed(7)
    label = torch.randint(0, NUM_CLASSES, (2, 1, 4, 4, 4), generator=g)
    onehot = torch.nn.functional.one_hot(label[:, 0], NUM_CLASSES).movedim(-1, 1).float()
    noise = torch.randn(2, NUM_CLASSES, 4, 4, 4, generator=g)
    logits_vnet = torch.stack([4 * onehot[0] + 0.5 * noise[0], 0.2 * onehot[1] + noise[1]])
    logits_resnet = torch.stack([3 * onehot[0] + 0.5 * noise[0], 6 * onehot[1] + 0.1 * noise[1]])
    return {
        "label": label,
        "logits_vnet": logits_vnet,
        "logits_resnet": logits_resnet,
        "features": torch.randn(4, 5, 4, 4, 4, generator=g),  # labeled 0, labeled 1, unlabeled 0, unlabeled 1
        "pseudo": torch.randint(0, NUM_CLASSES, (2, 4, 4, 4), generator=g),
        "reliable": torch.rand(2, 4, 4, 4, generator=g) < 0.3,
    }


def _reductions(batch: dict[str, torch.Tensor], items: list[int]) -> dict[str, torch.Tensor]:
    """Prototypes and the better-subnet decision from the labeled and unlabeled ``items`` of the global batch."""
    loss = UncertaintyContrastiveLoss(num_classes=NUM_CLASSES)
    n = len(items)
    features = torch.cat([batch["features"][items], batch["features"][[2 + i for i in items]]])
    prototypes, valid = loss._prototypes(
        loss.memories[0], features, batch["label"][items], n, batch["pseudo"][items], batch["reliable"][items]
    )
    out_vnet = SubnetOutput(batch["logits_vnet"][items], features[:n])
    out_resnet = SubnetOutput(batch["logits_resnet"][items], features[:n])
    terms = loss(out_vnet, out_resnet, batch["label"][items], n)
    return {"prototypes": prototypes, "valid": valid, "vnet_is_better": terms["vnet_is_better"]}


def _local_decision(batch: dict[str, torch.Tensor], item: int) -> torch.Tensor:
    """What rank ``item`` would decide alone (a fresh single-rank group would need a second port)."""
    loss = UncertaintyContrastiveLoss(num_classes=NUM_CLASSES)
    dice_vnet = loss.supervised(batch["logits_vnet"][[item]], batch["label"][[item]])[1]
    dice_resnet = loss.supervised(batch["logits_resnet"][[item]], batch["label"][[item]])[1]
    return (dice_vnet <= dice_resnet).float()


def _train_task(model_dir: Path) -> UncertaintyContrastiveTrain:
    conf = {"width": "2", "patch_size": "[32,16,16]", "labeled_batch_size": "1", "unlabeled_batch_size": "1"}
    # No teacher: what the ranks must agree on here are the students' weights, which are then what is published.
    conf.update({"iterations_per_epoch": "2", "cpu_threads": "1", "val_split": "0.0", "ema_decay": "0"})
    config = load_config(conf)
    network = DualSubnetSegmenter(in_channels=1, num_classes=config.num_classes, width=config.width)
    return UncertaintyContrastiveTrain(
        model_dir=str(model_dir), network=network, config=config, publish_path=str(model_dir / "published.pt")
    )


def _train_request(task: UncertaintyContrastiveTrain, datastore: LocalDatastore, port: int) -> dict[str, Any]:
    """What ``BasicTrainTask.__call__`` hands each spawned rank, with Gloo on the loopback interface instead of
    NCCL (MONAI Label spawns only for two GPUs or more)."""
    request = copy.deepcopy(task.config())
    request.update(
        {
            "run_id": "test",
            "device": "cpu",
            "max_epochs": 1,
            "multi_gpu": True,
            "distributed_backend": "gloo",
            "distributed_url": f"tcp://127.0.0.1:{port}",
            "dataset": "Dataset",
            "dataloader": "DataLoader",
            "tracking": "None",
            "pretrained": False,
            "val_split": 0.0,
        }
    )
    request["datalist"] = task.pre_process(request, datastore)
    return request


def _rank(rank: int, world_size: int, port: int, out: Path, task: UncertaintyContrastiveTrain, request: dict) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        batch = _global_batch()
        reductions = {"global": _reductions(batch, [rank]), "local": _local_decision(batch, rank)}
    finally:
        dist.destroy_process_group()
    task.train(rank, world_size, request, request["datalist"])
    weights = {name: p.detach() for name, p in task.network(None).named_parameters()}
    torch.save({**reductions, "weights": weights}, out / f"rank{rank}.pt")


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ranks")
    demo_data.generate(root / "data", num=4, labeled=2, seed=5, shape=(20, 20, 16))
    datastore = LocalDatastore(str(root / "data"), auto_reload=False)
    task = _train_task(root / "model")
    request = _train_request(task, datastore, free_port())
    initial = {name: p.detach().clone() for name, p in task.network(None).named_parameters()}
    run_ranks(_rank, 2, (free_port(), root, task, request), timeout=170)
    return {"ranks": [torch.load(root / f"rank{r}.pt") for r in range(2)], "initial": initial, "model": root / "model"}


def test_two_ranks_finish_training_and_rank_0_publishes_the_model(two_ranks) -> None:
    model_dir = two_ranks["model"]
    assert (model_dir / "published.pt").is_file()
    assert (model_dir / "train_01" / "checkpoint_final.pt").is_file()
    assert not list(model_dir.rglob(".tmp_*")) + list(model_dir.rglob("tmp*")), "a temporary file was left behind"
    published = torch.load(model_dir / "published.pt")
    for name, value in two_ranks["ranks"][0]["weights"].items():
        assert torch.equal(published[name], value), name


def test_both_ranks_end_with_identical_weights_that_training_changed(two_ranks) -> None:
    rank0, rank1 = (r["weights"] for r in two_ranks["ranks"])
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), name
    assert any(not torch.equal(rank0[name], before) for name, before in two_ranks["initial"].items())


def test_prototypes_of_two_ranks_equal_those_of_one_process_on_the_concatenated_batch(two_ranks) -> None:
    single = _reductions(_global_batch(), [0, 1])
    for result in two_ranks["ranks"]:
        torch.testing.assert_close(result["global"]["prototypes"], single["prototypes"])
        assert result["global"]["valid"].tolist() == single["valid"].tolist()
    # Each half alone gives other prototypes: the all-reduce is what makes them equal.
    alone = _reductions(_global_batch(), [0])
    assert not torch.allclose(alone["prototypes"], single["prototypes"])


def test_every_rank_takes_the_better_subnet_decision_of_the_global_batch(two_ranks) -> None:
    single = _reductions(_global_batch(), [0, 1])
    local = [float(result["local"]) for result in two_ranks["ranks"]]
    assert local == [1.0, 0.0], "the test data must make the ranks disagree locally"
    for result in two_ranks["ranks"]:
        assert float(result["global"]["vnet_is_better"]) == float(single["vnet_is_better"]) == 0.0
