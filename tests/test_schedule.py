import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sklearn_pseudolabel import alpha_schedule


def test_reference_values():
    assert alpha_schedule(0) == 0.0
    assert alpha_schedule(99) == 0.0
    assert alpha_schedule(100) == 0.0
    assert alpha_schedule(350) == pytest.approx(1.5)
    assert alpha_schedule(600) == 3.0
    assert alpha_schedule(10_000) == 3.0


def test_array_input_keeps_shape():
    t = np.arange(12).reshape(3, 4)
    alpha = alpha_schedule(t, alpha_f=2.0, T1=2, T2=6)
    assert alpha.shape == (3, 4)
    np.testing.assert_allclose(alpha.ravel()[:8], [0, 0, 0, 0.5, 1.0, 1.5, 2, 2])


def test_step_when_T1_equals_T2():
    np.testing.assert_array_equal(
        alpha_schedule([4, 5, 6], alpha_f=1.0, T1=5, T2=5), [0.0, 1.0, 1.0]
    )


@given(
    t=st.floats(0, 2000, allow_nan=False),
    dt=st.floats(0, 100, allow_nan=False),
    alpha_f=st.floats(0, 10),
    T1=st.integers(0, 500),
    width=st.integers(0, 500),
)
def test_bounded_and_non_decreasing(t, dt, alpha_f, T1, width):
    T2 = T1 + width
    a, b = alpha_schedule(t, alpha_f, T1, T2), alpha_schedule(t + dt, alpha_f, T1, T2)
    assert 0.0 <= a <= b <= alpha_f + 1e-12


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha_f=-1.0), "alpha_f"),
        (dict(T1=10, T2=5), "T2 must be >= T1"),
        (dict(T1=-1), "T1"),
        (dict(T1=1.5), "T1"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        alpha_schedule(0, **kwargs)


def test_non_finite_t():
    with pytest.raises(ValueError, match="t must be finite"):
        alpha_schedule([0.0, np.nan])
