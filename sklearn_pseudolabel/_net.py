"""The skorch net that trains with Pseudo-Label: two-stream epochs, α(t)·loss_u.

Only skorch's documented hooks are overridden (``get_iterator``,
``run_single_epoch``, ``train_step_single``, ``validation_step``,
``evaluation_step``, ``on_train_begin`` / ``on_train_end``,
``on_epoch_begin``, ``_default_callbacks``); the optimizer step, callbacks,
history, printing and device handling are skorch's own. What a step does
with the unlabeled images is decided by the parts
(:mod:`sklearn_pseudolabel.parts`) the net is given; the epoch's statistics
are a callback's (:class:`PseudoLabelStatistics`).
"""

import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import get_len
from torch.nn.parallel import DistributedDataParallel

from ._batches import EvalBatches, TwoStreamBatches
from ._distributed import all_gather_rows, all_mean, broadcast_state
from ._schedule import alpha_schedule
from ._statistics import PseudoLabelStatistics
from .parts import TrainingContext

__all__ = ["PseudoLabelNet"]


class PseudoLabelNet(NeuralNetClassifier):
    """``NeuralNetClassifier`` whose training loss adds α(t) · pseudo-label loss.

    Internal: :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier` builds it
    with encoded targets (class indices, -1 for unlabeled rows), image tensors
    and the parts of the step, and documents the parameters.

    Parameters
    ----------
    alpha_f, T1, T2 : float, int, int
        The α(t) schedule, see :func:`alpha_schedule`.

    views, teacher, alignment, targets, mask : parts
        See :mod:`sklearn_pseudolabel.parts`.

    pool : EpochPool or None
        With ``refresh="epoch"``, the unlabeled pool labelled at the start of
        each epoch, which the steps read instead of asking ``teacher``; None
        when the teacher labels each unlabeled batch at its step.

    batch_size_unlabeled : int
        Unlabeled images per step.

    seed : int
        Seeds batch order and augmentation.

    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the forward passes: ``"bfloat16"`` runs them under
        ``torch.autocast`` (weights, gradients, optimizer and losses stay
        float32; logits come back as float32).

    inference_batch_size : int, default=1024
        Images per batch of the passes that only predict (refreshes,
        validation, predictions). A step's teacher labels its unlabeled
        batch in one pass.

    rank, world_size : int, default=0, 1
        This process's rank and the number of processes of a data-parallel
        fit (:mod:`sklearn_pseudolabel._distributed`): each trains on its
        shard of every global batch, through
        :class:`~torch.nn.parallel.DistributedDataParallel`, and the
        teacher's probabilities of the whole global batch are gathered, so
        that every rank's parts see what one process would.
    """

    def __init__(
        self,
        *args,
        alpha_f,
        T1,
        T2,
        views,
        teacher,
        alignment,
        targets,
        mask,
        pool,
        batch_size_unlabeled,
        seed,
        precision="float32",
        inference_batch_size=1024,
        rank=0,
        world_size=1,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.alpha_f = alpha_f
        self.T1 = T1
        self.T2 = T2
        self.views = views
        self.teacher = teacher
        self.alignment = alignment
        self.targets = targets
        self.mask = mask
        self.pool = pool
        self.batch_size_unlabeled = batch_size_unlabeled
        self.seed = seed
        self.precision = precision
        self.inference_batch_size = inference_batch_size
        self.rank = rank
        self.world_size = world_size

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
            ("pseudo_label_statistics", PseudoLabelStatistics()),
            *valid,
            ("print_log", PrintLog()),
        ]

    @property
    def _parts(self):
        parts = (self.views, self.teacher, self.alignment, self.targets, self.mask)
        return parts if self.pool is None else (*parts, self.pool)

    # ----------------------------------------------------------- iterators
    def get_iterator(self, dataset, training=False):
        """Two-stream batches for training, plain slices for inference.

        The training iterator is made once per fit; it is kept as ``stream_``
        so that each epoch can label its unlabeled pool.
        """
        if training:
            self.stream_ = TwoStreamBatches(
                dataset,
                self.batch_size,
                self.batch_size_unlabeled,
                self.generator_,
                self.rank,
                self.world_size,
            )
            return self.stream_
        return EvalBatches(dataset, self.inference_batch_size)

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
            values = torch.stack(losses).float()
            values = all_mean(values, self.world_size).tolist()
            batches = self.history[-1]["batches"][-len(values) :]
            for batch, value in zip(batches, values):
                batch[prefix + "_loss"] = value
            if self.world_size > 1:
                # The global batches' sizes, which weigh the epoch's loss.
                key = prefix + "_batch_size"
                sizes = torch.tensor([batch[key] for batch in batches])
                sizes = all_mean(sizes, self.world_size) * self.world_size
                for batch, size in zip(batches, sizes.tolist()):
                    batch[key] = size
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
        labeled = y[y >= 0]
        n_classes = len(self.classes_)
        counts = torch.bincount(labeled, minlength=n_classes).float()
        context = TrainingContext(
            n_unlabeled=int((y < 0).sum()),
            n_classes=n_classes,
            class_prior=counts / counts.sum(),
            # Each rank augments its shard with draws of its own.
            generator=torch.Generator(self.device).manual_seed(self.seed + self.rank),
        )
        for part in self._parts:
            part.start(context)
        if self.world_size > 1:
            # Broadcasts rank 0's weights, then all-reduces the gradients. A
            # per-fit wrapper of module_, not a component of its own: kept out
            # of skorch's registry, which would save and move it.
            index = torch.device(self.device).index
            vars(self)["ddp_"] = DistributedDataParallel(
                self.module_, device_ids=None if index is None else [index]
            )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Drop training-only state, so that the fitted net pickles lean."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        if self.world_size > 1:
            # Each rank's batch-norm statistics moved with its own shard:
            # every rank ends with rank 0's, the weights being equal already.
            average = dict(self.callbacks_).get("weight_average")
            modules = [self.module_, getattr(average, "model_", None)]
            broadcast_state([m for m in modules if m is not None])
        for part in self._parts:
            part.stop()
        for name in ("generator_", "stream_", "ddp_"):
            self.__dict__.pop(name, None)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Set α(t), whether the epoch uses the unlabeled images, and how."""
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = len(self.history) - 1
        self.alpha_ = alpha_schedule(epoch, self.alpha_f, self.T1, self.T2)
        self.history.record("alpha", self.alpha_)
        self.history.record("lr", self.optimizer_.param_groups[0]["lr"])
        self.views.epoch_begin(epoch)
        stream = self.stream_
        stream.use_unlabeled = self.alpha_ > 0 and stream.n_unlabeled > 0
        if self.pool is not None:
            self.pool.epoch_begin(stream.use_unlabeled)

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
        batches of ``batch_size`` images (default: ``inference_batch_size``),
        gathering ``rows`` batch by batch so that no copy of the selected
        images is made. ``view``, a function of a batch, transforms each batch
        (in float32) before the network sees it: test-time augmentation.
        """
        n = len(X) if rows is None else len(rows)
        module = self.predicting_module_
        # Switching modes walks the whole module tree (host time a GPU step
        # waits for): only when needed. The weight average, the teacher of
        # each default step, stays in eval mode.
        was_training = module.training
        if was_training:
            module.eval()
        size = batch_size or self.inference_batch_size
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
        # With several processes, pos_u is the global batch's and piece the
        # slice of it that this rank holds.
        X, y_labeled, pos_u, *piece = batch
        piece = piece[0] if piece else None
        n_labeled = len(y_labeled)
        X_labeled, X_unlabeled = X[:n_labeled], X[n_labeled:]
        # The teacher labels first, with the weights this step starts from,
        # unless it reads the student's own pass (Lee's training-pass labels).
        probs = None
        if len(pos_u) and not self.teacher.uses_training_pass:
            probs = self._teacher_probabilities(X_unlabeled, None, pos_u, piece)
        # The views are made in float32: only the network runs in ``precision``.
        views = self.views.student(X_labeled, X_unlabeled)
        # Views that keep the images as they are need no copy of the batch.
        same = views[0] is X_labeled and views[1] is X_unlabeled
        X_student = X if same else torch.cat(views)
        with self.autocast():
            if self.world_size > 1:
                logits = self.ddp_(X_student).float()
            else:
                logits = self.infer(X_student).float()
        loss_labeled = self.get_loss(logits[:n_labeled], y_labeled, X=X, training=True)
        loss, unlabeled = loss_labeled, None
        if len(pos_u):
            logits_u = logits[n_labeled:]
            if probs is None:
                probs = self._teacher_probabilities(X_unlabeled, logits_u, pos_u, piece)
            loss_u, weights, labels = self.unlabeled_loss(logits_u, probs, pos_u, piece)
            loss = loss + self.alpha_ * loss_u
            unlabeled = (loss_u.detach(), weights, labels, pos_u)
        loss.backward()
        return {
            "loss": loss,
            "y_pred": logits,
            "loss_labeled": loss_labeled.detach(),
            "unlabeled": unlabeled,
        }

    def _teacher_probabilities(self, X, logits, pos, piece=None):
        """Return the epoch's labels of the pool, else ask the teacher.

        With several processes, the probabilities of the whole global batch
        (``pos``): the teacher's of every rank's shard, gathered.
        """
        if self.pool is not None:
            return self.pool.probabilities(self, pos)
        probs = self.teacher.probabilities(self, X, logits)
        if piece is None:
            return probs
        return all_gather_rows(
            probs, [len(p) for p in pos.tensor_split(self.world_size)]
        )

    def unlabeled_loss(self, logits, probs, pos, piece=None):
        """Return mean(mask · CE(logits, targets)) of one unlabeled batch.

        ``logits`` are the student's output for its view of the images,
        ``probs`` the teacher's probabilities for them, ``pos`` their
        positions in the unlabeled pool. Also returns the mask's weights
        (None when every pseudo-label counts) and the pseudo-labels, detached,
        for the epoch's statistics. With several processes ``probs`` and
        ``pos`` cover the global batch, whose slice ``piece`` the ``logits``
        are: the parts see the global batch, the loss this rank's shard.
        """
        probs = self.alignment(probs)
        weights = self.mask(probs, pos)
        targets = self.targets(probs)
        mine_weights, mine_targets = weights, targets
        if piece is not None:
            mine_targets = targets[piece]
            mine_weights = None if weights is None else weights[piece]
        # Lee's normalisation: divide by the unlabeled batch size n'.
        if weights is None:
            loss = F.cross_entropy(logits, mine_targets)
        else:
            per_sample = F.cross_entropy(logits, mine_targets, reduction="none")
            loss = (mine_weights * per_sample).mean()
            weights = weights.detach()
        # Hard targets are the predicted classes the statistics record.
        labels = targets if targets.ndim == 1 else probs.argmax(dim=1)
        return loss, weights, labels
