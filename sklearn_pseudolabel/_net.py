"""The skorch net that trains with Pseudo-Label: two-stream epochs, α(t)·loss_u.

Only skorch's hooks are overridden (``get_iterator``, ``train_step_single``,
``on_epoch_begin``/``on_epoch_end``, ``on_batch_end``, ``_default_callbacks``);
the optimizer step, callbacks, history, printing and device handling are
skorch's own.
"""

import math

import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ._batches import EvalBatches, TwoStreamBatches
from ._schedule import alpha_schedule

__all__ = ["PseudoLabelNet"]

#: Batch size for inference (pseudo-label refresh, predict): larger than the
#: training batches because no activations are kept for backward.
INFERENCE_BATCH_SIZE = 1024

# Sums accumulated on the device during an epoch, read once at its end.
_LOSS_L, _LOSS_U, _STEPS, _CONFIDENT, _SEEN, _CHANGED, _COMPARED = range(7)


class WeightAverage:
    """Exponential moving average of a module's weights.

    A thin holder of :class:`torch.optim.swa_utils.AveragedModel` (skorch
    allows torch modules as net attributes only inside ``initialize_*``, where
    they would also become learnable parameters of the optimizer). The
    average starts at the weights of the first :meth:`update`.
    """

    def __init__(self, module, decay):
        self.model = AveragedModel(
            module, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True
        )
        #: Whether the average has seen an update; a host-side flag, so that
        #: asking costs no device sync (``n_averaged`` lives on the device).
        self.started = False

    def update(self, module):
        """Fold the current weights of ``module`` into the average."""
        self.model.update_parameters(module)
        self.started = True

    def state_dict(self):
        """Return the averaged weights, keyed as in the averaged module."""
        return self.model.module.state_dict()


class PseudoLabelNet(NeuralNetClassifier):
    """``NeuralNetClassifier`` whose training loss adds α(t) · pseudo-label loss.

    Internal: :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier` builds it
    with encoded targets (class indices, -1 for unlabeled rows) and image
    tensors, and documents the parameters.
    """

    def __init__(
        self,
        *args,
        alpha_f,
        T1,
        T2,
        refresh,
        threshold,
        batch_size_unlabeled,
        augmenter,
        augment_unlabeled,
        ema_decay,
        seed,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.alpha_f = alpha_f
        self.T1 = T1
        self.T2 = T2
        self.refresh = refresh
        self.threshold = threshold
        self.batch_size_unlabeled = batch_size_unlabeled
        self.augmenter = augmenter
        self.augment_unlabeled = augment_unlabeled
        self.ema_decay = ema_decay
        self.seed = seed

    @property
    def _default_callbacks(self):
        # No validation split: valid_loss / valid_acc would always be empty.
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("print_log", PrintLog()),
        ]

    # ----------------------------------------------------------- iterators
    def get_iterator(self, dataset, training=False):
        """Two-stream batches for training, plain slices for inference."""
        if training:
            return TwoStreamBatches(
                dataset,
                self.batch_size,
                self.batch_size_unlabeled,
                self.generator_,
            )
        return EvalBatches(dataset, INFERENCE_BATCH_SIZE)

    def evaluation_step(self, batch, training=False):
        """Forward pass for prediction, under ``torch.inference_mode``."""
        self.check_is_fitted()
        with torch.inference_mode(not training):
            self._set_training(training)
            return self.infer(batch[0])

    # ----------------------------------------------------------- callbacks
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Create the training RNG and the pseudo-label state."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.generator_ = torch.Generator().manual_seed(self.seed)
        self.augment_generator_ = torch.Generator(self.device).manual_seed(self.seed)
        self.stream_ = None
        self.last_pseudo_labels_ = None
        self.pseudo_labels_ = self.pseudo_confidence_ = None
        self.ema_ = None
        if self.ema_decay is not None:
            self.ema_ = WeightAverage(self.module_, self.ema_decay)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Keep the averaged weights, drop training-only state.

        With ``ema_decay`` the trained module takes the averaged weights, so
        that prediction and pickling need nothing else.
        """
        if self.ema_ is not None and self.ema_.started:
            self.module_.load_state_dict(self.ema_.state_dict())
        super().on_train_end(net, X=X, y=y, **kwargs)
        for name in (
            "ema_",
            "generator_",
            "augment_generator_",
            "stream_",
            "sums_",
            "last_pseudo_labels_",
            "pseudo_labels_",
            "pseudo_confidence_",
        ):
            self.__dict__.pop(name, None)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Set α(t) for the epoch, record it and the lr, reset the sums."""
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = len(self.history) - 1
        self.alpha_ = alpha_schedule(epoch, self.alpha_f, self.T1, self.T2)
        self.history.record("alpha", self.alpha_)
        self.history.record("lr", self.optimizer_.param_groups[0]["lr"])
        self.sums_ = torch.zeros(7, device=self.device)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Prepare the unlabeled stream of a training epoch, then run it."""
        if training and iterator is not None:
            self.stream_ = iterator
            iterator.use_unlabeled = self.alpha_ > 0 and iterator.n_unlabeled > 0
            if iterator.use_unlabeled and self.refresh == "epoch":
                self._refresh_pseudo_labels(iterator)
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        """Update the weight average; stop at the first non-finite loss."""
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        if not training:
            return
        loss = self.history[-1, "batches", -1, "train_loss"]
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"Training diverged at epoch {len(self.history)}: the loss is "
                f"{loss}. Lower lr (now {self.lr:g}) or alpha_f (now "
                f"{self.alpha_f:g}, current weight {self.alpha_:.4g})."
            )
        if self.ema_ is not None:
            self.ema_.update(self.module_)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Record the epoch's labeled / unlabeled losses and pseudo-label stats."""
        sums = self.sums_.tolist()  # the epoch's only extra device sync
        steps = max(sums[_STEPS], 1.0)
        self.history.record("train_loss_labeled", sums[_LOSS_L] / steps)
        seen = sums[_SEEN]
        self.history.record(
            "train_loss_unlabeled", sums[_LOSS_U] / steps if seen else float("nan")
        )
        self.history.record(
            "pseudo_label_confident", sums[_CONFIDENT] / seen if seen else float("nan")
        )
        compared = sums[_COMPARED]
        self.history.record(
            "pseudo_label_changed",
            sums[_CHANGED] / compared if compared else float("nan"),
        )
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)

    # ------------------------------------------------------- pseudo-labels
    @property
    def teacher_(self):
        """The network that predicts.

        The weight average during training with ``ema_decay`` (once it has
        seen a step), the trained module otherwise.
        """
        ema = getattr(self, "ema_", None)
        if ema is not None and ema.started:
            return ema.model.module
        return self.module_

    def predict_logits(self, X, rows=None):
        """Logits of device tensor ``X`` (or of its ``rows``), eval mode.

        Uses :attr:`teacher_`. Runs under ``torch.inference_mode`` in batches
        of ``INFERENCE_BATCH_SIZE``, gathering ``rows`` batch by batch so that
        no copy of the selected images is made.
        """
        n = len(X) if rows is None else len(rows)
        module = self.teacher_
        was_training = module.training
        module.eval()
        with torch.inference_mode():
            logits = [
                module(
                    X[i : i + INFERENCE_BATCH_SIZE]
                    if rows is None
                    else X[rows[i : i + INFERENCE_BATCH_SIZE]]
                )
                for i in range(0, n, INFERENCE_BATCH_SIZE)
            ]
        module.train(was_training)
        return torch.cat(logits)

    @staticmethod
    def _pseudo_labels(logits):
        """Confidence and argmax class of ``logits``, usable in autograd."""
        confidence, labels = F.softmax(logits, dim=1).max(dim=1)
        # Clone out of inference mode: these tensors feed the autograd graph.
        return confidence.clone(), labels.clone()

    def _track_changes(self, pos, labels):
        """Count pseudo-labels that differ from the last ones of the same rows."""
        if self.last_pseudo_labels_ is None:
            self.last_pseudo_labels_ = torch.full(
                (self.stream_.n_unlabeled,), -1, dtype=torch.long, device=self.device
            )
        previous = self.last_pseudo_labels_[pos]
        known = previous >= 0
        self.sums_[_CHANGED] += (known & (previous != labels)).sum()
        self.sums_[_COMPARED] += known.sum()
        self.last_pseudo_labels_[pos] = labels

    def _refresh_pseudo_labels(self, stream):
        """Per-epoch mode: label the whole unlabeled pool with the current net."""
        logits = self.predict_logits(stream.X, stream.unlabeled_idx)
        self.pseudo_confidence_, self.pseudo_labels_ = self._pseudo_labels(logits)
        self._track_changes(
            torch.arange(stream.n_unlabeled, device=self.device), self.pseudo_labels_
        )

    # ------------------------------------------------------------ training
    def train_step_single(self, batch, **fit_params):
        """Loss = CE(labeled) + α(t) · mean over unlabeled of masked CE(pseudo)."""
        self._set_training(True)
        X, y_labeled, pos_u = batch
        n_labeled = len(y_labeled)
        # Per-batch pseudo-labels come from the training forward pass itself
        # (Lee), unless the student sees augmented unlabeled images or a weight
        # average predicts: then the teacher labels the clean images, in eval
        # mode (FixMatch's weak/strong split; mean teacher).
        separate_teacher = len(pos_u) > 0 and (
            self.ema_ is not None
            or (self.augmenter is not None and self.augment_unlabeled)
        )
        if self.refresh == "batch" and separate_teacher:
            confidence, labels = self._pseudo_labels(self.predict_logits(X[n_labeled:]))
        if self.augmenter is not None:
            n_aug = len(X) if self.augment_unlabeled else n_labeled
            X = torch.cat([self._augment(X[:n_aug]), X[n_aug:]])
        logits = self.infer(X, **fit_params)
        loss_labeled = self.get_loss(logits[:n_labeled], y_labeled, X=X, training=True)
        loss = loss_labeled
        sums = self.sums_
        sums[_LOSS_L] += loss_labeled.detach()
        sums[_STEPS] += 1
        if len(pos_u):
            logits_u = logits[n_labeled:]
            if self.refresh == "batch":
                if not separate_teacher:
                    # Lee's per-update pseudo-labels: argmax of this forward pass.
                    confidence, labels = self._pseudo_labels(logits_u.detach())
                self._track_changes(pos_u, labels)
            else:
                confidence = self.pseudo_confidence_[pos_u]
                labels = self.pseudo_labels_[pos_u]
            per_sample = F.cross_entropy(logits_u, labels, reduction="none")
            if self.threshold is not None:
                keep = confidence >= self.threshold
                per_sample = per_sample * keep
                sums[_CONFIDENT] += keep.sum()
            else:
                sums[_CONFIDENT] += len(pos_u)
            sums[_SEEN] += len(pos_u)
            # Lee's normalisation: divide by the unlabeled batch size n'.
            loss_unlabeled = per_sample.mean()
            sums[_LOSS_U] += loss_unlabeled.detach()
            loss = loss_labeled + self.alpha_ * loss_unlabeled
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def _augment(self, X):
        return self.augmenter.augment_tensor(X, generator=self.augment_generator_)
