import copy

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_pseudolabel import DropoutCNN


@pytest.mark.parametrize(
    "shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 1, 2), (1, 1, 1), (2, 5, 13)]
)
def test_any_image_size_gives_logits(shape):
    net = DropoutCNN(input_shape=shape, n_classes=7)
    out = net(torch.rand(3, *shape))
    assert out.shape == (3, 7)
    assert torch.isfinite(out).all()


def test_rejects_wrong_input_shape():
    net = DropoutCNN(input_shape=(1, 8, 8))
    with pytest.raises(RuntimeError):
        net(torch.rand(2, 1, 28, 28))


def test_constructor_arguments_are_stored():
    net = DropoutCNN(
        channels=(3, 4),
        kernel_sizes=(3, 3),
        dropout=0.2,
        activation="tanh",
        init="xavier",
    )
    assert (net.channels, net.kernel_sizes, net.dropout) == ((3, 4), (3, 3), 0.2)
    assert [type(m) for m in net.features if not isinstance(m, nn.ZeroPad2d)] == [
        nn.Conv2d,
        nn.MaxPool2d,
        nn.Tanh,
    ] * 2
    assert net.classifier[1].p == 0.2
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3), (3, 3)]


@pytest.mark.parametrize(
    "activation, cls",
    [("relu", torch.nn.ReLU), ("tanh", torch.nn.Tanh), ("sigmoid", torch.nn.Sigmoid)],
)
def test_activation(activation, cls):
    net = DropoutCNN(input_shape=(1, 8, 8), activation=activation)
    assert sum(isinstance(m, cls) for m in net.modules()) == 3


def test_he_init_std():
    torch.manual_seed(0)
    net = DropoutCNN(input_shape=(1, 28, 28), channels=(64, 128, 256), init="he")
    conv = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][1]
    fan_in = conv.weight[0].numel()  # 64 * 3 * 3
    w = conv.weight.detach().numpy()
    assert abs(w.mean()) < 0.01
    assert w.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.02)
    assert np.all(conv.bias.detach().numpy() == 0)


def test_xavier_init_bound():
    torch.manual_seed(0)
    net = DropoutCNN(input_shape=(1, 28, 28), channels=(64, 128, 256), init="xavier")
    conv = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][1]
    fan_in, fan_out = 64 * 9, 128 * 9
    bound = np.sqrt(6 / (fan_in + fan_out))
    w = conv.weight.detach().numpy()
    assert np.abs(w).max() <= bound
    # Uniform on [-b, b] has std b / sqrt(3).
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)


def test_dropout_only_in_train_mode():
    torch.manual_seed(0)
    net = DropoutCNN(input_shape=(1, 8, 8))
    x = torch.rand(16, 1, 8, 8)
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    net.train()
    assert not torch.allclose(net(x), net(x))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_shape=(8, 8)), "input_shape"),
        (dict(channels=(4, 8), kernel_sizes=(3,)), "same length"),
        (dict(dropout=1.0), "dropout"),
        (dict(activation="gelu"), "activation"),
        (dict(init="orthogonal"), "init"),
        (dict(n_classes=0), "n_classes"),
        (dict(hidden_units=-2), "hidden_units"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DropoutCNN(**kwargs)


def test_batch_norm_and_hidden_layer():
    net = DropoutCNN(
        input_shape=(1, 8, 8),
        channels=(4, 8),
        kernel_sizes=(3, 2),
        batch_norm=True,
        hidden_units=16,
        dropout=0.3,
    )
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in net.features if isinstance(m, torch.nn.BatchNorm2d)]
    assert [c.bias for c in convs] == [None, None]  # the norm's shift replaces it
    assert [n.num_features for n in norms] == [4, 8]
    linears = [m for m in net.classifier if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (8 * 2 * 2, 16),
        (16, 10),
    ]
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.classifier) == 2
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.classifier)
    net.train()
    out = net(torch.rand(5, 1, 8, 8))
    assert out.shape == (5, 10)
    # In eval mode the running statistics are used: a single image works.
    net.eval()
    assert net(torch.rand(1, 1, 8, 8)).shape == (1, 10)


def test_defaults_are_the_reference_layers():
    net = DropoutCNN()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert [type(m).__name__ for m in net.classifier] == [
        "Flatten",
        "Dropout",
        "Linear",
    ]


def test_convolutions_run_channels_last():
    net = DropoutCNN(input_shape=(3, 16, 16), channels=(4, 8, 8), batch_norm=True)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    seen = []
    convs[1].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    net.eval()
    X = torch.randn(5, 3, 16, 16)
    out = net(X)
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    # The same function as the default layout: a copy with contiguous weights.
    plain = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    plain.forward = lambda X: plain.classifier(plain.features(X))
    torch.testing.assert_close(out, plain(X), rtol=1e-5, atol=1e-5)
    # Either input layout gives the same logits.
    X_last = X.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(net(X_last), out, rtol=0, atol=0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_pooling_before_activation_is_the_same_function(activation):
    # Each block pools, then activates: for non-decreasing activations the
    # textbook order (activation, then pooling) gives the same logits and
    # gradients, in train mode with batch norm and dropout.
    torch.manual_seed(0)
    net = DropoutCNN(
        input_shape=(1, 12, 12),
        channels=(4, 6),
        kernel_sizes=(3, 3),
        activation=activation,
        batch_norm=True,
        hidden_units=8,
    )
    textbook = copy.deepcopy(net)
    textbook.features = nn.Sequential(*_activation_first(net.features))
    X = torch.randn(7, 1, 12, 12)
    outputs, grads = [], []
    for model in (net, textbook):
        torch.manual_seed(1)  # the same dropout masks
        out = model(X)
        out.square().sum().backward()
        outputs.append(out)
        grads.append([p.grad for p in model.parameters()])
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)
    for got, expected in zip(*grads):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def _activation_first(features):
    """A copy of ``features`` with each (pooling, activation) pair swapped."""
    layers = [copy.deepcopy(m) for m in features]
    pools = [i for i, m in enumerate(layers) if isinstance(m, nn.MaxPool2d)]
    for i in pools:
        layers[i], layers[i + 1] = layers[i + 1], layers[i]
    assert pools and all(isinstance(layers[i + 1], nn.MaxPool2d) for i in pools)
    return layers
