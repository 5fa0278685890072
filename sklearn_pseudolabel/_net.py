"""The skorch net that trains with Pseudo-Label: two-stream epochs, α(t)·loss_u.

Only skorch's documented hooks are overridden (``get_iterator``,
``run_single_epoch``, ``train_step_single``, ``validation_step``,
``evaluation_step``, ``on_train_begin`` / ``on_train_end``, ``on_epoch_begin``
/ ``on_epoch_end``, ``_default_callbacks``); the optimizer step, callbacks,
history, printing and device handling are skorch's own. What a step does
with the unlabeled images is decided by the parts
(:mod:`sklearn_pseudolabel.parts`) the net is given.
"""

import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import get_len

from ._batches import EvalBatches, TwoStreamBatches
from ._schedule import alpha_schedule
from .parts import TrainingContext

__all__ = ["PseudoLabelNet", "resolve_precision"]

#: Images per batch of the passes over many images (refreshes, transduction,
#: validation, predictions), by device type. A GPU takes large batches: no
#: activations are kept for backward. On a CPU a batch whose activations
#: outgrow the caches runs slower: batches of 128 predicted 1.8 to 2.0 times
#: as many images per second as batches of 1,024 on 2 AMD EPYC cores in
#: float32, 2.8 to 2.9 times on 2 Intel Xeon cores with AMX in bfloat16 (the
#: default network and its wide student; docs/benchmarks.md, "Inference
#: batch size"). A step's teacher labels its unlabeled batch in one pass.
_INFERENCE_BATCH_SIZES = {"cpu": 128}
_INFERENCE_BATCH_SIZE = 1024


def inference_batch_size(device):
    """Return the number of images per inference batch on ``device``."""
    return _INFERENCE_BATCH_SIZES.get(torch.device(device).type, _INFERENCE_BATCH_SIZE)


# What the steps of an epoch keep on the device (their labeled and unlabeled
# losses, the mask's weights), summed once at the epoch's end: a step adds no
# operation of its own for them. The unlabeled images are counted on the host.
_LOSS_L, _LOSS_U, _KEPT = range(3)


def resolve_precision(precision, device):
    """Return ``precision``, ``"auto"`` resolved for ``device``.

    ``"auto"`` is ``"bfloat16"`` on a CPU with Intel AMX tile units, where
    the defaults' epochs on MNIST took 1.4x less time at the same test error
    (docs/benchmarks.md), and ``"float32"`` elsewhere: on a CPU with
    AVX512-BF16 instructions but no AMX the gain was within the noise
    (1.09x, two rounds), older CPUs emulate bfloat16, and on an H200 GPU,
    where the defaults' small steps are bound by kernel launches, it was
    1.04x (two rounds).

    Examples
    --------
    >>> from sklearn_pseudolabel._net import resolve_precision
    >>> resolve_precision("float32", "cpu")
    'float32'
    >>> resolve_precision("auto", "cpu") in {"float32", "bfloat16"}
    True
    """
    if precision != "auto":
        return precision
    if torch.device(device).type == "cpu" and _cpu_has_amx():
        return "bfloat16"
    return "float32"


def _cpu_has_amx():
    """Whether this CPU has Intel AMX tile units (torch's own probe)."""
    # A private function of torch.cpu (torch >= 2.3); without it, no.
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe is not None and probe())


class PseudoLabelNet(NeuralNetClassifier):
    """``NeuralNetClassifier`` whose training loss adds α(t) · pseudo-label loss.

    Internal: :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier` builds it
    with encoded targets (class indices, -1 for unlabeled rows), image tensors
    and the parts of the step, and documents the parameters.

    Parameters
    ----------
    alpha_f, T1, T2 : float, int, int
        The α(t) schedule, see :func:`alpha_schedule`.

    refresh : {"epoch", "batch"}
        When the teacher labels: the whole pool at the start of each epoch,
        or each unlabeled batch at its step.

    views, teacher, alignment, targets, mask : parts
        See :mod:`sklearn_pseudolabel.parts`.

    batch_size_unlabeled : int
        Unlabeled images per step.

    seed : int
        Seeds batch order and augmentation.

    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the forward passes: ``"bfloat16"`` runs them under
        ``torch.autocast`` (weights, gradients, optimizer and losses stay
        float32; logits come back as float32).
    """

    def __init__(
        self,
        *args,
        alpha_f,
        T1,
        T2,
        refresh,
        views,
        teacher,
        alignment,
        targets,
        mask,
        batch_size_unlabeled,
        seed,
        precision="float32",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.alpha_f = alpha_f
        self.T1 = T1
        self.T2 = T2
        self.refresh = refresh
        self.views = views
        self.teacher = teacher
        self.alignment = alignment
        self.targets = targets
        self.mask = mask
        self.batch_size_unlabeled = batch_size_unlabeled
        self.seed = seed
        self.precision = precision

    @property
    def _default_callbacks(self):
        # valid_loss / valid_acc only with a validation split (early stopping).
        valid = []
        if self.train_split is not None:
            valid = [
                ("valid_loss", PassthroughScoring(name="valid_loss")),
                (
                    "valid_acc",
                    EpochScoring(
                        "accuracy",
                        name="valid_acc",
                        lower_is_better=False,
                        use_caching=True,
                    ),
                ),
            ]
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            *valid,
            ("print_log", PrintLog()),
        ]

    @property
    def _parts(self):
        return (self.views, self.teacher, self.alignment, self.targets, self.mask)

    # ----------------------------------------------------------- iterators
    def get_iterator(self, dataset, training=False):
        """Two-stream batches for training, plain slices for inference.

        The training iterator is made once per fit; it is kept as ``stream_``
        so that each epoch can label its unlabeled pool.
        """
        if training:
            self.stream_ = TwoStreamBatches(
                dataset, self.batch_size, self.batch_size_unlabeled, self.generator_
            )
            return self.stream_
        return EvalBatches(dataset, inference_batch_size(self.device))

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run skorch's pass over the batches, reading training losses once.

        skorch records each step's loss in the history with ``loss.item()``:
        on a GPU, a wait per step that stops the host from queueing the next
        step's kernels while the device runs this one. Training steps here
        keep their losses on the device and record them all, with one read,
        after the epoch's last step (before ``on_epoch_end``): during the
        epoch, a step's ``train_loss`` is not in the history yet.
        Validation passes are skorch's.
        """
        if not training or iterator is None:
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        losses = []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            self.history.record_batch(prefix + "_batch_size", get_len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if losses:
            values = torch.stack(losses).float().tolist()
            for batch, value in zip(
                self.history[-1]["batches"][-len(values) :], values
            ):
                batch[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", len(losses))

    def validation_step(self, batch, **fit_params):
        """Loss and logits of a validation batch, by the predicting network."""
        X, y = batch
        logits = self.predict_logits(X)
        return {"loss": self.get_loss(logits, y, X=X, training=False), "y_pred": logits}

    def evaluation_step(self, batch, training=False):
        """Forward pass for prediction, under ``torch.inference_mode``."""
        self.check_is_fitted()
        with torch.inference_mode(not training), self.autocast():
            self._set_training(training)
            return self.infer(batch[0]).float()

    def autocast(self):
        """Context of the forward passes: autocast to ``precision``, or none."""
        return torch.autocast(
            torch.device(self.device).type,
            dtype=torch.bfloat16,
            enabled=self.precision == "bfloat16",
        )

    # ----------------------------------------------------------- callbacks
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Seed the training RNGs and start the parts."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.generator_ = torch.Generator().manual_seed(self.seed)
        self.pool_probs_ = self.last_labels_ = self.epoch_start_labels_ = None
        self.refresh_due_ = False
        labeled = y[y >= 0]
        n_classes = len(self.classes_)
        counts = torch.bincount(labeled, minlength=n_classes).float()
        n_unlabeled = int((y < 0).sum())
        context = TrainingContext(
            n_unlabeled=n_unlabeled,
            n_classes=n_classes,
            class_prior=counts / counts.sum(),
            generator=torch.Generator(self.device).manual_seed(self.seed),
        )
        for part in self._parts:
            part.start(context)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Drop training-only state, so that the fitted net pickles lean."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        for part in self._parts:
            part.stop()
        for name in (
            "generator_",
            "stream_",
            "records_",
            "epoch_seen_",
            "epoch_kept_",
            "pool_probs_",
            "last_labels_",
            "epoch_start_labels_",
            "refresh_due_",
        ):
            self.__dict__.pop(name, None)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Set α(t); with per-epoch refresh, have the pool labeled at the first step."""
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = len(self.history) - 1
        self.alpha_ = alpha_schedule(epoch, self.alpha_f, self.T1, self.T2)
        self.history.record("alpha", self.alpha_)
        self.history.record("lr", self.optimizer_.param_groups[0]["lr"])
        self.records_ = ([], [], [])
        self.epoch_seen_ = self.epoch_kept_ = 0
        # Each epoch that uses the unlabeled images sees every one of them
        # (``TwoStreamBatches``): the labels it starts from are compared with
        # the ones it ends with, once, rather than at every step.
        if self.last_labels_ is not None:
            self.epoch_start_labels_ = self.last_labels_.clone()
        stream = self.stream_
        stream.use_unlabeled = self.alpha_ > 0 and stream.n_unlabeled > 0
        # The refresh runs at the epoch's first step, inside skorch's epoch
        # timer (which starts after this method): an epoch's ``dur`` counts it.
        self.refresh_due_ = stream.use_unlabeled and self.refresh == "epoch"

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Record the epoch's labeled / unlabeled losses and pseudo-label stats."""
        records, seen = self.records_, self.epoch_seen_
        steps = max(len(records[_LOSS_L]), 1)
        zero = torch.zeros((), device=self.device)
        sums = [torch.cat(r).sum(dtype=torch.float32) if r else zero for r in records]
        start = self.epoch_start_labels_
        if seen and start is not None:
            known = start >= 0
            changed = (known & (start != self.last_labels_)).sum(dtype=torch.float32)
            sums += [changed, known.sum(dtype=torch.float32)]
        else:
            sums += [zero, zero]
        # The epoch's only extra device sync.
        loss_l, loss_u, kept, changed, compared = torch.stack(sums).tolist()
        nan = float("nan")
        self.history.record("train_loss_labeled", loss_l / steps)
        self.history.record("train_loss_unlabeled", loss_u / steps if seen else nan)
        kept += self.epoch_kept_
        self.history.record("pseudo_label_confident", kept / seen if seen else nan)
        self.history.record(
            "pseudo_label_changed", changed / compared if compared else nan
        )
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)

    # ------------------------------------------------------------ predicting
    @property
    def predicting_module_(self):
        """The network that predicts.

        The weight average while training with one (once it has seen a step),
        else the trained module.
        """
        average = dict(self.callbacks_).get("weight_average")
        module = average.module_ if average is not None else None
        return module if module is not None else self.module_

    def predict_logits(self, X, rows=None, view=None, batch_size=None):
        """Logits of device tensor ``X`` (or of its ``rows``), eval mode.

        Uses :attr:`predicting_module_`. Runs under ``torch.inference_mode`` in
        batches of ``batch_size`` images (default: :func:`inference_batch_size`
        of the device), gathering ``rows`` batch by batch so that no copy of
        the selected images is made. ``view``, a function of a batch,
        transforms each batch (in float32) before the network sees it:
        test-time augmentation.
        """
        n = len(X) if rows is None else len(rows)
        module = self.predicting_module_
        # Switching modes walks the whole module tree (tens of microseconds,
        # host time a GPU step waits for): only when needed. The weight
        # average, the teacher of each default step, stays in eval mode.
        was_training = module.training
        if was_training:
            module.eval()
        size = batch_size or inference_batch_size(X.device)
        logits = []
        with torch.inference_mode():
            for i in range(0, n, size):
                batch = X[i : i + size] if rows is None else X[rows[i : i + size]]
                if view is not None:
                    batch = view(batch)
                with self.autocast():
                    logits.append(module(batch))
        if was_training:
            module.train()
        return torch.cat(logits).float()

    # ------------------------------------------------------------ training
    def train_step_single(self, batch, **fit_params):
        """Loss = CE(labeled) + α(t) · mean over unlabeled of mask · CE(targets)."""
        # The module and criterion change modes together (``_set_training``;
        # ``predict_logits`` restores what it changes), so one flag tells
        # whether the walk over their trees is needed.
        if not self.module_.training:
            self._set_training(True)
        if self.refresh_due_:
            self._refresh_pool()
        X, y_labeled, pos_u = batch
        n_labeled = len(y_labeled)
        X_labeled, X_unlabeled = X[:n_labeled], X[n_labeled:]
        # The teacher labels first, with the weights this step starts from,
        # unless it reads the student's own pass (Lee's training-pass labels).
        probs = None
        if len(pos_u) and not self.teacher.uses_training_pass:
            probs = self._teacher_probabilities(X_unlabeled, None, pos_u)
        # The views are made in float32: only the network runs in ``precision``.
        views = self.views.student(X_labeled, X_unlabeled)
        # Views that keep the images as they are need no copy of the batch.
        same = views[0] is X_labeled and views[1] is X_unlabeled
        X_student = X if same else torch.cat(views)
        with self.autocast():
            logits = self.infer(X_student).float()
        loss = self.get_loss(logits[:n_labeled], y_labeled, X=X, training=True)
        self.records_[_LOSS_L].append(loss.detach().reshape(1))
        if len(pos_u):
            logits_u = logits[n_labeled:]
            if probs is None:
                probs = self._teacher_probabilities(X_unlabeled, logits_u, pos_u)
            loss = loss + self.alpha_ * self.unlabeled_loss(logits_u, probs, pos_u)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def _refresh_pool(self):
        """Label the whole unlabeled pool with the weights the epoch starts from."""
        stream = self.stream_
        logits = self.predict_logits(stream.X, stream.unlabeled_idx)
        self.pool_probs_ = F.softmax(logits, dim=1).clone()
        self.refresh_due_ = False

    def _teacher_probabilities(self, X, logits, pos):
        """Return this epoch's refresh of the pool, else ask the teacher."""
        if self.pool_probs_ is not None:
            return self.pool_probs_[pos]
        return self.teacher.probabilities(self, X, logits)

    def unlabeled_loss(self, logits, probs, pos):
        """mean(mask · CE(logits, targets)) of one unlabeled batch.

        ``logits`` are the student's output for its view of the images,
        ``probs`` the teacher's probabilities for them, ``pos`` their
        positions in the unlabeled pool.
        """
        probs = self.alignment(probs)
        weights = self.mask(probs, pos)
        targets = self.targets(probs)
        # Lee's normalisation: divide by the unlabeled batch size n'.
        if weights is None:
            loss = F.cross_entropy(logits, targets)
        else:
            per_sample = F.cross_entropy(logits, targets, reduction="none")
            loss = (weights * per_sample).mean()
        # Hard targets are the predicted classes the statistics record.
        labels = targets if targets.ndim == 1 else probs.argmax(dim=1)
        self._record_unlabeled(loss, weights, labels, pos)
        return loss

    def _record_unlabeled(self, loss, weights, labels, pos):
        """Keep a step's unlabeled loss, mask weights and labels for the epoch's end."""
        self.epoch_seen_ += len(pos)
        self.records_[_LOSS_U].append(loss.detach().reshape(1))
        if weights is None:
            self.epoch_kept_ += len(pos)
        else:
            self.records_[_KEPT].append(weights.detach())
        if self.last_labels_ is None:
            self.last_labels_ = torch.full(
                (self.stream_.n_unlabeled,), -1, dtype=torch.long, device=self.device
            )
        self.last_labels_[pos] = labels
