"""The dropout CNN of the reference experiment, as a shape-adaptive torch module."""

import math
from numbers import Integral

import torch
from torch import nn

__all__ = ["DropoutCNN"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
_INITS = ("he", "xavier")


def _positive_integers(values):
    """Whether ``values`` holds only integers >= 1 (booleans excluded)."""
    return all(
        isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in values
    )


def _pool_kernel(height, width):
    """2×2 max-pooling, reduced to 1 along any side that is already 1 pixel."""
    return (2 if height >= 2 else 1, 2 if width >= 2 else 1)


def _same_padding(kernel_size):
    """Zero padding that keeps a stride-1 convolution's output size.

    Explicit, because ``Conv2d(padding="same")`` copies the input for even
    kernels (and warns about it).
    """
    before = (kernel_size - 1) // 2
    after = kernel_size - 1 - before
    return [nn.ZeroPad2d((before, after, before, after))] if kernel_size > 1 else []


class DropoutCNN(nn.Module):
    """Convolutional network with dropout: conv blocks, then a linear output.

    Each hidden block is ``Conv2d`` with "same" zero padding →
    ``MaxPool2d`` → activation (the textbook order's function: see Notes);
    the feature map is flattened, passed through dropout and a linear layer
    that returns logits (read through softmax by the classifier). Padding keeps
    each convolution's output the size of its input, and pooling halves a side
    only while it is at least 2 pixels, so any image from 1×1 upwards works:
    8×8 digits, 28×28 MNIST, 32×32×3 colour images.

    All constructor arguments are stored unchanged, so skorch's
    ``module__<name>`` parameters reach them.

    Parameters
    ----------
    input_shape : tuple of int, default=(1, 28, 28)
        ``(channels, height, width)`` of one input image.

    n_classes : int, default=10
        Number of outputs.

    channels : tuple of int, default=(32, 64, 128)
        Output channels of each convolution; one block per entry.

    kernel_sizes : tuple of int, default=(5, 3, 2)
        Kernel size of each convolution; same length as ``channels``.

    dropout : float, default=0.5
        Dropout probability before the output layer.

    activation : {"relu", "tanh", "sigmoid"}, default="relu"
        Hidden non-linearity.

    batch_norm : bool, default=False
        Batch normalisation after each convolution (and the hidden dense
        layer), before the activation; the convolutions then have no bias.
        Off in the reference network.

    hidden_units : int, default=0
        Units of a dense hidden layer (with dropout before and after it)
        between the convolutions and the output; 0 connects the flattened
        features to the output directly, as the reference network does.

    init : {"he", "xavier"}, default="he"
        Weight initialisation. ``"he"``: zero-mean Gaussian with standard
        deviation ``sqrt(2 / fan_in)`` (He et al., 2015), suited to ReLU;
        ``"xavier"``: Glorot uniform on ``±sqrt(6 / (fan_in + fan_out))``,
        suited to tanh and sigmoid. Biases start at zero.

    Notes
    -----
    The convolutions run in the channels-last memory layout (weights and
    activations), which oneDNN and cuDNN convolve faster than the default
    layout; the inputs may come in either layout, and the outputs are the
    same up to float rounding.

    Each block pools before its activation. The activations are
    non-decreasing, so they commute with the maximum: the block computes the
    same outputs and gradients as activation-then-pooling, with the
    activation and its backward pass on a quarter of the pixels.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel import DropoutCNN
    >>> net = DropoutCNN(input_shape=(1, 8, 8), n_classes=10)
    >>> net(torch.zeros(4, 1, 8, 8)).shape
    torch.Size([4, 10])
    """

    def __init__(
        self,
        input_shape=(1, 28, 28),
        n_classes=10,
        channels=(32, 64, 128),
        kernel_sizes=(5, 3, 2),
        dropout=0.5,
        activation="relu",
        batch_norm=False,
        hidden_units=0,
        init="he",
    ):
        super().__init__()
        self.input_shape = input_shape
        self.n_classes = n_classes
        self.channels = channels
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.activation = activation
        self.batch_norm = batch_norm
        self.hidden_units = hidden_units
        self.init = init
        self._check_arguments()

        in_channels, height, width = (int(s) for s in input_shape)
        layers = []
        for out_channels, kernel_size in zip(channels, kernel_sizes):
            pool = _pool_kernel(height, width)
            layers += [
                *_same_padding(kernel_size),
                nn.Conv2d(in_channels, out_channels, kernel_size, bias=not batch_norm),
                *([nn.BatchNorm2d(out_channels)] if batch_norm else []),
                # Pooling first: the same function (see Notes), cheaper.
                nn.MaxPool2d(pool),
                _ACTIVATIONS[activation](),
            ]
            in_channels, height, width = (
                out_channels,
                height // pool[0],
                width // pool[1],
            )
        self.features = nn.Sequential(*layers)
        n_features = in_channels * height * width
        hidden = []
        if hidden_units:
            hidden = [
                nn.Dropout(dropout),
                nn.Linear(n_features, hidden_units, bias=not batch_norm),
                *([nn.BatchNorm1d(hidden_units)] if batch_norm else []),
                _ACTIVATIONS[activation](),
            ]
            n_features = hidden_units
        self.classifier = nn.Sequential(
            nn.Flatten(), *hidden, nn.Dropout(dropout), nn.Linear(n_features, n_classes)
        )
        self.reset_parameters()
        self.to(memory_format=torch.channels_last)

    def _check_arguments(self):
        if len(self.input_shape) != 3 or min(self.input_shape) < 1:
            raise ValueError(
                "input_shape must be (channels, height, width) of positive "
                f"integers; got {self.input_shape!r}."
            )
        if len(self.channels) != len(self.kernel_sizes) or not self.channels:
            raise ValueError(
                "channels and kernel_sizes must be non-empty and of the same "
                f"length; got {self.channels!r} and {self.kernel_sizes!r}."
            )
        for name in ("channels", "kernel_sizes"):
            value = getattr(self, name)
            if not _positive_integers(value):
                raise ValueError(f"{name} must hold positive integers; got {value!r}.")
        if self.n_classes < 1:
            raise ValueError(f"n_classes must be >= 1; got {self.n_classes}.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout}.")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}; "
                f"got {self.activation!r}."
            )
        if self.hidden_units < 0:
            raise ValueError(f"hidden_units must be >= 0; got {self.hidden_units}.")
        if self.init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}; got {self.init!r}.")

    def reset_parameters(self):
        """Draw new weights with the ``init`` scheme and zero the biases."""
        for layer in self.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                if self.init == "he":
                    fan_in = layer.weight[0].numel()
                    nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / fan_in))
                else:
                    nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
            elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                layer.reset_parameters()

    def forward(self, X):
        """Return the logits, shape ``(n_samples, n_classes)``."""
        X = X.contiguous(memory_format=torch.channels_last)
        return self.classifier(self.features(X))
