"""The self-ensembling teacher: an EMA of the students with a warm-up of its decay, restarted as an exact copy."""

from __future__ import annotations

import pytest
import torch

from lib.trainers.mean_teacher import EMADecay, mean_teacher, restart


def test_ema_decay_starts_low_and_reaches_the_setting() -> None:
    ema = EMADecay(0.99)
    averaged, current = torch.tensor([0.0]), torch.tensor([1.0])
    assert float(ema(averaged, current, torch.tensor(1))) == pytest.approx(0.5)  # decay 1 - 1/2
    assert float(ema(averaged, current, torch.tensor(1000))) == pytest.approx(0.01)  # decay 0.99


def test_teacher_is_a_copy_after_restart_and_then_moves_a_step_behind_the_student() -> None:
    student = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    teacher = mean_teacher(student, 0.9)
    with torch.no_grad():
        student[0].weight.fill_(1.0)
    restart(teacher, student)
    assert torch.equal(teacher.module[0].weight, student[0].weight)
    for _ in range(20):
        teacher.update_parameters(student)  # n grows: decay reaches 0.9
    with torch.no_grad():
        student[0].weight.fill_(2.0)
    teacher.update_parameters(student)
    assert torch.allclose(teacher.module[0].weight, torch.full((2, 2), 1.1))
    assert not any(p.requires_grad for p in teacher.parameters())


def test_batch_norm_statistics_are_averaged_too() -> None:
    student = torch.nn.BatchNorm1d(2)
    teacher = mean_teacher(student, 0.5)
    restart(teacher, student)
    student.running_mean.fill_(4.0)
    for _ in range(3):
        teacher.update_parameters(student)
    assert 0.0 < float(teacher.module.running_mean[0]) < 4.0


def test_decay_zero_means_no_teacher() -> None:
    assert mean_teacher(torch.nn.Linear(1, 1), 0.0) is None
