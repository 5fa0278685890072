"""The formulas of the user guide (docs/theory.rst), checked against torch."""

import numpy as np
import pytest
import torch


def _grad(fn, x):
    x = x.clone().requires_grad_(True)
    fn(x).sum().backward()
    return x.grad


X = torch.linspace(-4, 4, 41, dtype=torch.float64)


def test_sigmoid_derivative():
    s = torch.sigmoid(X)
    torch.testing.assert_close(_grad(torch.sigmoid, X), s * (1 - s))


def test_tanh_derivative():
    torch.testing.assert_close(_grad(torch.tanh, X), 1 - torch.tanh(X) ** 2)


def test_relu_derivative():
    x = X[X != 0]  # undefined at 0; torch uses 0 there
    torch.testing.assert_close(_grad(torch.relu, x), (x > 0).to(x.dtype))
    assert _grad(torch.relu, torch.zeros(1, dtype=torch.float64)).item() == 0.0


@pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
def test_softmax_with_inverse_temperature_jacobian(beta):
    """∂y_i/∂x_j = β · y_i · (δ_ij − y_j) for y = softmax(β x)."""
    x = torch.tensor([0.3, -1.2, 2.0, 0.7], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(beta * v, 0), x)
    y = torch.softmax(beta * x, 0)
    expected = beta * (torch.diag(y) - torch.outer(y, y))
    torch.testing.assert_close(jac, expected)


def test_softmax_cross_entropy_gradient_is_prediction_minus_target():
    """∂CE/∂x = β · (y − t) for CE(softmax(β x), t)."""
    beta = 2.0
    x = torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64)
    target = torch.tensor([1])
    grad = _grad(lambda v: torch.nn.functional.cross_entropy(beta * v, target), x)
    expected = beta * (
        torch.softmax(beta * x, 1) - torch.eye(3, dtype=torch.float64)[target]
    )
    torch.testing.assert_close(grad, expected)


def test_inverted_dropout_preserves_the_expectation():
    """Train mode scales kept units by 1/(1-p): E[dropout(x)] = x = eval output."""
    torch.manual_seed(0)
    p = 0.5
    layer = torch.nn.Dropout(p)
    x = torch.full((2000, 500), 1.5, dtype=torch.float64)
    out = layer.train()(x)
    kept = out != 0
    assert kept.double().mean().item() == pytest.approx(1 - p, abs=0.01)
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1.5 / (1 - p)))
    assert out.mean().item() == pytest.approx(1.5, rel=0.01)
    torch.testing.assert_close(layer.eval()(x), x)


def _sgd_path(nesterov, steps=5, lr=0.1, mu=0.9):
    """Minimise f(w) = ½ w², whose gradient is w, with torch's SGD."""
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=mu, nesterov=nesterov)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * w**2).sum().backward()
        opt.step()
        path.append(w.item())
    return path


def test_classical_momentum_update():
    """v ← μ v + g(w);  w ← w − η v   (PyTorch's form of classical momentum)."""
    lr, mu, w, v = 0.1, 0.9, 1.0, 0.0
    expected = []
    for _ in range(5):
        v = mu * v + w
        w = w - lr * v
        expected.append(w)
    np.testing.assert_allclose(_sgd_path(False), expected)


def test_nesterov_update():
    """v ← μ v + g(w);  w ← w − η (g(w) + μ v)   (Nesterov's look-ahead)."""
    lr, mu, w, v = 0.1, 0.9, 1.0, 0.0
    expected = []
    for _ in range(5):
        g = w
        v = mu * v + g
        w = w - lr * (g + mu * v)
        expected.append(w)
    np.testing.assert_allclose(_sgd_path(True), expected)
    assert _sgd_path(True) != _sgd_path(False)
