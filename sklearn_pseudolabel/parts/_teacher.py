"""Teachers: who predicts the pseudo-labels of an unlabeled batch."""

import torch.nn.functional as F

from ._base import Part

__all__ = ["EvalTeacher", "Teacher", "TrainingPassTeacher"]


class Teacher(Part):
    """Predicts class probabilities for the unlabeled images of a step.

    Subclasses define :meth:`probabilities`. ``uses_training_pass`` says
    whether they read the student's own training forward pass (then they can
    only label per batch, after that pass).
    """

    uses_training_pass = False

    def probabilities(self, net, X, logits):
        """Return detached probabilities ``(n, n_classes)`` for the batch.

        Parameters
        ----------
        net : PseudoLabelNet
            The net being trained; :meth:`PseudoLabelNet.predict_logits` runs
            its predicting network (the weight average when there is one) in
            eval mode.

        X : torch.Tensor of shape (n, C, H, W)
            The teacher's view of the unlabeled images (un-augmented).

        logits : torch.Tensor of shape (n, n_classes) or None
            The student's training-pass logits for the same images (its own
            view of them; part of the autograd graph) for a teacher whose
            ``uses_training_pass`` is True; None for the others, which are
            asked before the student's pass.
        """
        raise NotImplementedError


class TrainingPassTeacher(Teacher):
    """The student's own training forward pass labels the batch (Lee, 2013).

    No extra forward pass: the pseudo-label is the argmax of the very logits
    that are trained, with dropout on and on the student's view.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import TrainingPassTeacher
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]], requires_grad=True)
    >>> probs = TrainingPassTeacher().probabilities(None, None, logits)
    >>> probs.argmax(1).tolist(), probs.requires_grad
    ([0, 1], False)
    """

    uses_training_pass = True

    def probabilities(self, net, X, logits):
        """Softmax of the detached training-pass logits."""
        return F.softmax(logits.detach(), dim=1)


class EvalTeacher(Teacher):
    """A separate eval-mode pass of the predicting network labels the batch.

    No dropout, batch-norm running statistics, under ``torch.inference_mode``,
    on the teacher's view (the un-augmented images): the network learns to
    give its (possibly strongly augmented) view the label of the clean image,
    as in FixMatch. With ``ema_decay`` the predicting network is the weight
    average (a mean teacher).
    """

    def probabilities(self, net, X, logits):
        """Softmax of ``net.predict_logits(X)``, usable in autograd."""
        # One pass over the step's batch, whatever the inference batch size
        # (a step's batch is small). Clone out of inference mode: the result
        # feeds the autograd graph.
        logits = net.predict_logits(X, batch_size=len(X))
        return F.softmax(logits, dim=1).clone()
