import pytest
import torch
import torch.nn.functional as F

from sklearn_pseudolabel.parts import (
    Alignment,
    ClassAdaptiveThreshold,
    DistributionAlignment,
    EvalTeacher,
    FixedThreshold,
    HardTargets,
    KeepAll,
    SoftTargets,
    TrainingContext,
    TrainingPassTeacher,
    Views,
)


def _context(n_unlabeled=6, prior=(0.5, 0.5), seed=0):
    prior = torch.tensor(prior)
    return TrainingContext(
        n_unlabeled=n_unlabeled,
        n_classes=len(prior),
        class_prior=prior,
        generator=torch.Generator().manual_seed(seed),
    )


@pytest.fixture
def probs():
    return torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]])


# ----------------------------------------------------------------- targets
def test_hard_targets_are_argmax(probs):
    torch.testing.assert_close(HardTargets()(probs), torch.tensor([0, 0, 1, 1]))


def test_soft_targets_sharpen_and_stay_distributions(probs):
    torch.testing.assert_close(SoftTargets(1.0)(probs), probs)
    sharp = SoftTargets(0.5)(probs)
    torch.testing.assert_close(sharp.sum(1), torch.ones(4))
    torch.testing.assert_close(sharp.argmax(1), probs.argmax(1))
    assert (sharp.amax(1) > probs.amax(1)).all()
    # A tiny temperature tends to the hard label.
    torch.testing.assert_close(
        SoftTargets(1e-3)(probs), F.one_hot(probs.argmax(1), 2).float()
    )


def test_soft_targets_feed_cross_entropy(probs):
    logits = torch.zeros(4, 2, requires_grad=True)
    loss = F.cross_entropy(logits, SoftTargets(0.5)(probs), reduction="none")
    torch.testing.assert_close(
        loss, torch.full((4,), float(torch.log(torch.tensor(2.0))))
    )


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_soft_targets_reject_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature"):
        SoftTargets(bad)


# --------------------------------------------------------------- alignment
def test_identity_alignment(probs):
    assert Alignment()(probs) is probs


def test_distribution_alignment_rebalances_a_biased_teacher():
    align = DistributionAlignment(momentum=0.0)
    align.start(_context())
    biased = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2]])  # mean (0.8, 0.2)
    aligned = align(biased)
    torch.testing.assert_close(aligned.sum(1), torch.ones(3))
    expected = biased * torch.tensor([0.5 / 0.8, 0.5 / 0.2])
    torch.testing.assert_close(aligned, expected / expected.sum(1, keepdim=True))
    # The aligned batch is closer to the labeled prior than the raw one.
    assert aligned.mean(0)[1] > biased.mean(0)[1]
    align.stop()
    assert not hasattr(align, "p_model_")


def test_distribution_alignment_running_mean_starts_at_prior():
    align = DistributionAlignment(momentum=0.9)
    align.start(_context(prior=(0.25, 0.75)))
    align(torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(align.p_model_, torch.tensor([0.325, 0.675]))


# -------------------------------------------------------------------- masks
def test_keep_all_and_fixed_threshold(probs):
    assert KeepAll()(probs, None) is None  # no weights: the plain mean
    torch.testing.assert_close(
        FixedThreshold(0.6)(probs, None), torch.tensor([1.0, 1.0, 1.0, 0.0])
    )
    torch.testing.assert_close(FixedThreshold(1.0)(probs, None), torch.zeros(4))


@pytest.mark.parametrize("cls", [FixedThreshold, ClassAdaptiveThreshold])
def test_thresholds_reject_values_outside_unit_interval(cls):
    with pytest.raises(ValueError, match="threshold"):
        cls(1.5)


def test_class_adaptive_threshold_follows_learning_status():
    mask = ClassAdaptiveThreshold(0.9)
    mask.start(_context(n_unlabeled=6))
    # Nothing confident yet: every class's status is 0, every threshold 0.
    weak = torch.tensor([[0.6, 0.4]] * 2)
    torch.testing.assert_close(mask(weak, torch.tensor([0, 1])), torch.ones(2))
    # Five images claimed confidently for class 0, none for class 1.
    sure = torch.tensor([[0.95, 0.05]] * 5)
    mask(sure, torch.arange(5))
    assert mask.selected_.tolist() == [0, 0, 0, 0, 0, -1]
    # Class 0 is learned (status 1): threshold 0.9; class 1 still at 0.
    batch = torch.tensor([[0.85, 0.15], [0.3, 0.7]])
    torch.testing.assert_close(
        mask(batch, torch.tensor([5, 5])), torch.tensor([0.0, 1.0])
    )
    mask.stop()
    assert not hasattr(mask, "selected_")


def test_class_adaptive_threshold_equals_fixed_when_classes_are_balanced():
    mask = ClassAdaptiveThreshold(0.9)
    mask.start(_context(n_unlabeled=4))
    mask(
        torch.tensor([[0.95, 0.05], [0.95, 0.05], [0.05, 0.95], [0.05, 0.95]]),
        torch.arange(4),
    )
    probs = torch.tensor([[0.85, 0.15], [0.92, 0.08]])
    torch.testing.assert_close(
        mask(probs, torch.tensor([0, 2])), FixedThreshold(0.9)(probs, None)
    )


# ----------------------------------------------------------------- teachers
def test_training_pass_teacher_is_detached_softmax():
    logits = torch.randn(3, 4, requires_grad=True)
    probs = TrainingPassTeacher().probabilities(None, None, logits)
    assert not probs.requires_grad
    torch.testing.assert_close(probs, F.softmax(logits.detach(), 1))


def test_eval_teacher_asks_the_net_for_clean_logits():
    class _Net:
        def predict_logits(self, X, batch_size=None):
            self.batch_size = batch_size
            with torch.inference_mode():
                return X * 2.0

    X = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    net = _Net()
    probs = EvalTeacher().probabilities(net, X, logits=None)
    torch.testing.assert_close(probs, F.softmax(2 * X, 1))
    assert not probs.is_inference()  # usable in the autograd graph
    assert net.batch_size == len(X)  # the step's batch in one pass


# -------------------------------------------------------------------- views
class _AddOne:
    def augment_tensor(self, X, generator=None):
        assert isinstance(generator, torch.Generator)
        return X + 1


def test_views_apply_each_augmenter_to_its_half():
    X_l, X_u = torch.zeros(2, 1, 2, 2), torch.zeros(3, 1, 2, 2)
    views = Views(labeled=_AddOne())
    views.start(_context())
    lab, unl = views.student(X_l, X_u)
    assert (lab == 1).all() and unl is X_u
    views = Views(unlabeled=_AddOne())
    views.start(_context())
    lab, unl = views.student(X_l, X_u)
    assert lab is X_l and (unl == 1).all()
    # An empty unlabeled half (alpha = 0) is not augmented at all.
    assert views.student(X_l, X_u[:0])[1].shape == (0, 1, 2, 2)
    views.stop()
    assert not hasattr(views, "generator_")


def test_views_start_the_unlabeled_view_at_its_epoch():
    X_l, X_u = torch.zeros(2, 1, 2, 2), torch.zeros(3, 1, 2, 2)
    views = Views(labeled=_AddOne(), unlabeled=_AddOne(), unlabeled_start=2)
    views.start(_context())
    for epoch, on in [(0, False), (1, False), (2, True), (5, True)]:
        views.epoch_begin(epoch)
        lab, unl = views.student(X_l, X_u)
        assert (lab == 1).all()  # the labeled view is never held back
        assert (unl == 1).all() if on else unl is X_u
    views.stop()
    assert not hasattr(views, "unlabeled_on_")


def test_part_repr_shows_parameters_not_state():
    mask = ClassAdaptiveThreshold(0.9)
    mask.start(_context())
    assert repr(mask) == "ClassAdaptiveThreshold(threshold=0.9)"


def test_epoch_pool_labels_the_pool_once_per_used_epoch():
    from types import SimpleNamespace

    from sklearn_pseudolabel.parts._pool import EpochPool

    calls = []

    def predict_logits(X, rows):
        calls.append(rows.tolist())
        return X[rows] * 10.0

    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    stream = SimpleNamespace(X=X, unlabeled_idx=torch.tensor([0, 2]))
    net = SimpleNamespace(stream_=stream, predict_logits=predict_logits)
    pool = EpochPool()
    pool.start(None)
    pool.epoch_begin(True)
    probs = pool.probabilities(net, torch.tensor([1]))
    torch.testing.assert_close(probs, torch.tensor([[0.5, 0.5]]))
    pool.probabilities(net, torch.tensor([0]))
    assert calls == [[0, 2]]  # once in the epoch
    pool.epoch_begin(True)
    pool.probabilities(net, torch.tensor([0]))
    assert calls == [[0, 2], [0, 2]]
    pool.stop()
    assert not hasattr(pool, "probs_")
