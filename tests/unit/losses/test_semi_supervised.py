"""The combined objective on the real subnet pair: every term trains the subnet it belongs to, and only that one."""

from __future__ import annotations

import pytest
import torch

from lib.losses import UncertaintyContrastiveLoss
from lib.networks import DualSubnetSegmenter

TERMS_OF = {
    "vnet": ("sup_a", "tv_a", "unl_a", "con_a"),
    "resnet": ("sup_b", "tv_b", "unl_b", "con_b"),
}


@pytest.fixture(scope="module")
def terms() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = DualSubnetSegmenter(in_channels=1, num_classes=3, width=2)
    images = torch.randn(4, 1, 16, 16, 16)
    label = torch.randint(0, 3, (2, 1, 16, 16, 16))
    out_a, out_b = net(images, return_subnets=True)
    # A low threshold and a wide reliable set so that every term has voxels to work on with random weights.
    loss = UncertaintyContrastiveLoss(num_classes=3, tv_threshold=0.34, reliable_percentile=50.0)
    result = loss(out_a, out_b, label, num_labeled=2, step=10_000)
    result["net"] = net
    return result


def _grad_norm(term: torch.Tensor, module: torch.nn.Module) -> float:
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)


@pytest.mark.parametrize("own, other", [("vnet", "resnet"), ("resnet", "vnet")])
def test_each_term_alone_trains_its_own_subnet_and_not_the_other(terms: dict, own: str, other: str) -> None:
    net = terms["net"]
    for name in TERMS_OF[own]:
        assert terms[name].requires_grad, f"{name} carries no gradient"
        assert _grad_norm(terms[name], getattr(net, own)) > 0, f"{name} does not train {own}"
        assert _grad_norm(terms[name], getattr(net, other)) == 0, f"{name} leaks into {other}"


def test_total_loss_is_the_weighted_sum_of_the_terms(terms: dict) -> None:
    expected = (
        terms["sup_a"]
        + terms["sup_b"]
        + 0.5 * (terms["tv_a"] + terms["tv_b"])
        + terms["rampup"] * (1.0 * (terms["unl_a"] + terms["unl_b"]) + 0.1 * (terms["con_a"] + terms["con_b"]))
    )
    torch.testing.assert_close(terms["loss"], expected)
    assert terms["rampup"] == pytest.approx(1.0)


def test_a_batch_without_unlabeled_items_has_only_the_supervised_terms() -> None:
    net = DualSubnetSegmenter(in_channels=1, num_classes=2, width=2)
    out_a, out_b = net(torch.randn(2, 1, 16, 16, 16), return_subnets=True)
    result = UncertaintyContrastiveLoss(num_classes=2)(out_a, out_b, torch.randint(0, 2, (2, 1, 16, 16, 16)), 2, 0)
    assert "unl_a" not in result and "con_b" not in result
    torch.testing.assert_close(
        result["loss"], result["sup_a"] + result["sup_b"] + 0.5 * (result["tv_a"] + result["tv_b"])
    )
