"""The combined objective on the real subnet pair: every term trains the subnet it belongs to, and only that one;
the teacher's outputs steer the targets and train nothing."""

from __future__ import annotations

import pytest
import torch

from lib.config import load_config
from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter

TERMS_OF = {
    "vnet": ("sup_vnet", "tv_vnet", "bd_vnet", "unl_vnet", "con_vnet", "pdcr_vnet"),
    "resnet": ("sup_resnet", "tv_resnet", "bd_resnet", "unl_resnet", "con_resnet", "pdcr_resnet"),
}


def _loss(**kwargs) -> UncertaintyContrastiveLoss:
    # A low threshold and a wide reliable set so that every term has voxels to work on with random weights.
    settings = dict(tv_threshold=0.34, reliable_percentile_start=50.0, reliable_percentile=50.0, pdcr_weight=0.1)
    settings.update(bidirectional_weight=1.0, class_balanced=True, contrastive_band=50.0, prototype_momentum=0.9)
    settings.update(kwargs)
    return UncertaintyContrastiveLoss(num_classes=3, **settings)


@pytest.fixture(scope="module")
def setup() -> dict:
    torch.manual_seed(0)
    net = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2, projection_dim=4)
    teacher = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2, projection_dim=4)
    images = torch.randn(4, 1, 16, 16, 16)
    label = torch.randint(0, 3, (2, 1, 16, 16, 16))
    out_vnet, out_resnet = net(images, return_subnets=True)
    with torch.no_grad():
        teacher_out = teacher(images, return_subnets=True)
    terms = _loss()(out_vnet, out_resnet, label, num_labeled=2, ramp=1.0, teacher=teacher_out)
    return {"terms": terms, "net": net, "teacher": teacher, "images": images, "label": label}


def _grad_norm(term: torch.Tensor, module: torch.nn.Module) -> float:
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)


@pytest.mark.parametrize("own, other", [("vnet", "resnet"), ("resnet", "vnet")])
def test_each_term_alone_trains_its_own_subnet_and_not_the_other(setup: dict, own: str, other: str) -> None:
    net, terms = setup["net"], setup["terms"]
    for name in TERMS_OF[own]:
        assert terms[name].requires_grad, f"{name} carries no gradient"
        assert _grad_norm(terms[name], getattr(net, own)) > 0, f"{name} does not train {own}"
        assert _grad_norm(terms[name], getattr(net, other)) == 0, f"{name} leaks into {other}"


def test_the_contrastive_terms_train_the_projection_head(setup: dict) -> None:
    for subnet, name in (("vnet", "con_vnet"), ("resnet", "con_resnet")):
        assert _grad_norm(setup["terms"][name], getattr(setup["net"], subnet).projection) > 0


def test_total_loss_is_the_ramped_weighted_sum_of_the_terms(setup: dict) -> None:
    t = setup["terms"]
    labels_only = 0.5 * (t["tv_vnet"] + t["tv_resnet"]) + 1.0 * (t["bd_vnet"] + t["bd_resnet"])
    unlabeled = (
        t["unl_vnet"]
        + t["unl_resnet"]
        + 0.1 * (t["con_vnet"] + t["con_resnet"])
        + 0.1 * (t["pdcr_vnet"] + t["pdcr_resnet"])
    )
    torch.testing.assert_close(t["loss"], t["sup_vnet"] + t["sup_resnet"] + labels_only + unlabeled)


def test_during_the_warm_up_only_the_supervised_terms_count() -> None:
    torch.manual_seed(1)
    net = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2)
    out_vnet, out_resnet = net(torch.randn(3, 1, 16, 16, 16), return_subnets=True)
    t = _loss()(out_vnet, out_resnet, torch.randint(0, 3, (1, 1, 16, 16, 16)), 1, ramp=0.0)
    torch.testing.assert_close(t["loss"], t["sup_vnet"] + t["sup_resnet"])


def test_the_teacher_steers_the_pseudo_labels(setup: dict) -> None:
    """The same students with another teacher get other pseudo-label terms; the teacher's outputs get no gradient."""
    net, images, label = setup["net"], setup["images"], setup["label"]
    out_vnet, out_resnet = net(images, return_subnets=True)
    with torch.no_grad():
        own = _loss()(out_vnet, out_resnet, label, 2, 1.0, teacher=None)
    assert not torch.isclose(own["unl_vnet"], setup["terms"]["unl_vnet"])
    # The teacher's outputs, this time with their graph: the loss must read them detached.
    teacher = setup["teacher"]
    live_teacher = teacher(setup["images"], return_subnets=True)
    terms = _loss()(out_vnet, out_resnet, label, 2, 1.0, teacher=live_teacher)
    assert _grad_norm(terms["loss"], teacher) == 0
    assert _grad_norm(terms["loss"], net) > 0


def test_the_paper_preset_builds_the_paper_objective() -> None:
    loss = UncertaintyContrastiveLoss.from_config(load_config({"preset": "paper"}))
    assert loss.percentiles == (20.0, 20.0) and not loss.class_balanced and loss.confidence_floor == 0.0
    assert loss.bidirectional_weight == 0.0 and loss.contrastive_band == 100.0
    assert all(memory.momentum == 0.0 for memory in loss.memories)


def test_a_batch_with_fewer_unlabeled_than_labeled_items_has_every_term() -> None:
    """The last unlabeled batch of a small pool can be shorter than the labeled one (2 labeled + 1 unlabeled here):
    the contrast's band still covers the whole batch (it once took the labeled part's size from the unlabeled one)."""
    torch.manual_seed(0)
    net = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2, projection_dim=4)
    out_vnet, out_resnet = net(torch.randn(3, 1, 16, 16, 16), return_subnets=True)
    terms = _loss()(out_vnet, out_resnet, torch.randint(0, 3, (2, 1, 16, 16, 16)), num_labeled=2, ramp=1.0)
    assert set(TERMS_OF["vnet"]) <= set(terms) and bool(torch.isfinite(terms["loss"]))
    assert _grad_norm(terms["con_vnet"], net.vnet) > 0


def test_a_batch_without_unlabeled_items_has_only_the_label_terms() -> None:
    net = DualSubnetSegmenter(in_channels=1, num_classes=2, width=2)
    out_vnet, out_resnet = net(torch.randn(2, 1, 16, 16, 16), return_subnets=True)
    loss = UncertaintyContrastiveLoss(num_classes=2)
    result = loss(out_vnet, out_resnet, torch.randint(0, 2, (2, 1, 16, 16, 16)), 2)
    assert "unl_vnet" not in result and "con_resnet" not in result and "bd_vnet" not in result
    torch.testing.assert_close(
        result["loss"], result["sup_vnet"] + result["sup_resnet"] + 0.5 * (result["tv_vnet"] + result["tv_resnet"])
    )


def test_the_better_subnet_follows_the_dice_averaged_over_iterations() -> None:
    """One iteration where resnet looks better does not overturn a run of iterations where vnet was better."""
    loss = UncertaintyContrastiveLoss(num_classes=2)
    for _ in range(10):
        assert bool(loss._vnet_is_better(torch.tensor(0.2), torch.tensor(0.4)))
    assert bool(loss._vnet_is_better(torch.tensor(0.6), torch.tensor(0.3)))
    for _ in range(20):
        loss._vnet_is_better(torch.tensor(0.6), torch.tensor(0.3))
    assert not bool(loss._vnet_is_better(torch.tensor(0.6), torch.tensor(0.3)))


def test_in_a_pasted_box_the_unlabeled_term_learns_the_pasted_labels(setup: dict) -> None:
    """Where labeled content was pasted, the target is its label, reliable, whatever the teacher said; a student
    that predicts exactly those labels there loses less than one that predicts the teacher's."""
    label = setup["label"]
    box = torch.zeros(2, 16, 16, 16, dtype=torch.bool)
    box[:, 2:12, 2:12, 2:12] = True
    box_label = torch.randint(0, 3, (2, 16, 16, 16))
    with torch.no_grad():
        teacher_out = setup["teacher"](setup["images"], return_subnets=True)

    def unlabeled_term(student_classes: torch.Tensor) -> torch.Tensor:
        logits = torch.nn.functional.one_hot(student_classes, 3).permute(0, 4, 1, 2, 3).float() * 20.0
        out = type(teacher_out[0])(torch.cat([logits[:2] * 0, logits]), torch.randn(4, 4, 16, 16, 16))
        return _loss()(out, out, label, 2, 1.0, teacher=teacher_out, pasted=(box, box_label))["unl_vnet"]

    teacher_classes = (teacher_out[0].logits.softmax(1) + teacher_out[1].logits.softmax(1)).argmax(1)[2:]
    follows_the_box = torch.where(box, box_label, teacher_classes)
    assert unlabeled_term(follows_the_box) < 0.5 * unlabeled_term(teacher_classes)
