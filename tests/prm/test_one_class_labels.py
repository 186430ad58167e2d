"""PRM training warns loudly when every step label is of one class (issue 25)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

pytest.importorskip("torch")

from ifrl.core.records import StepSample
from ifrl.prm.train import (
    OneClassLabelsWarning,
    PRMTrainConfig,
    label_balance,
    train_prm,
)

ALL_WRONG = [
    StepSample("Q: 1+1\n", ("1+1=3\n", "3\n"), (0.0, 0.0)),
    StepSample("Q: 2+2\n", ("2+2=5\n",), (0.0,)),
]


def test_label_balance_counts_soft_labels_at_one_half() -> None:
    samples = [StepSample("Q\n", ("a\n", "b\n", "c\n"), (0.5, 0.49, 1.0))]
    assert label_balance(samples) == (2, 1)


def test_one_class_labels_warn_before_training(tiny_model_dir: Path) -> None:
    config = PRMTrainConfig(epochs=1.0, batch_size=2)
    with pytest.warns(OneClassLabelsWarning, match="all 3 step labels are wrong"):
        train_prm(ALL_WRONG, tiny_model_dir, config, progress=False)


def test_two_classes_do_not_warn(tiny_model_dir: Path) -> None:
    mixed = [*ALL_WRONG, StepSample("Q: 3+3\n", ("3+3=6\n",), (1.0,))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", OneClassLabelsWarning)
        train_prm(mixed, tiny_model_dir, PRMTrainConfig(epochs=1.0, batch_size=2), progress=False)
