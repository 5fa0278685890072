"""The per-epoch statistics of a Pseudo-Label net's steps."""

import math
from types import SimpleNamespace

import pytest
import torch
from skorch.history import History

from sklearn_pseudolabel._statistics import PseudoLabelStatistics


def _step(stats, net, loss_l, unlabeled=None):
    loss_l = torch.tensor(loss_l)
    stats.on_batch_end(net, training=True, loss_labeled=loss_l, unlabeled=unlabeled)


def _unlabeled(loss, weights, labels, pos):
    weights = None if weights is None else torch.tensor(weights)
    return torch.tensor(loss), weights, torch.tensor(labels), torch.tensor(pos)


def test_an_epoch_of_steps_becomes_one_history_row():
    net = SimpleNamespace(
        history=History(),
        device="cpu",
        stream_=SimpleNamespace(n_unlabeled=4),
        world_size=1,
    )
    stats = PseudoLabelStatistics()
    stats.on_train_begin(net)

    net.history.new_epoch()
    stats.on_epoch_begin(net)
    _step(stats, net, 1.0, _unlabeled(0.5, [1.0, 0.0], [0, 1], [0, 1]))
    _step(stats, net, 2.0, _unlabeled(0.3, None, [1, 1], [2, 3]))
    stats.on_batch_end(net, training=False)  # validation steps are ignored
    stats.on_epoch_end(net)
    row = net.history[-1]
    assert row["train_loss_labeled"] == pytest.approx(1.5)
    assert row["train_loss_unlabeled"] == pytest.approx(0.4)
    # One of two masked, two kept without weights: 3 of 4.
    assert row["pseudo_label_confident"] == pytest.approx(0.75)
    assert math.isnan(row["pseudo_label_changed"])  # nothing to compare yet

    net.history.new_epoch()
    stats.on_epoch_begin(net)
    _step(stats, net, 1.0, _unlabeled(0.1, None, [0, 0, 1, 1], [0, 1, 2, 3]))
    stats.on_epoch_end(net)
    assert net.history[-1, "pseudo_label_changed"] == pytest.approx(0.25)

    # Labeled steps alone (before T1): no unlabeled statistics.
    net.history.new_epoch()
    stats.on_epoch_begin(net)
    _step(stats, net, 3.0)
    stats.on_epoch_end(net)
    row = net.history[-1]
    assert row["train_loss_labeled"] == pytest.approx(3.0)
    assert math.isnan(row["train_loss_unlabeled"])
    assert math.isnan(row["pseudo_label_confident"])

    stats.on_train_end(net)
    assert not [k for k in vars(stats) if k.endswith("_")]
