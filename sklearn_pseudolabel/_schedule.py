"""The unlabeled-loss weight schedule α(t) of Pseudo-Label (Lee, 2013)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["alpha_schedule"]


@validate_params(
    {
        "t": ["array-like", Interval(Real, None, None, closed="neither")],
        "alpha_f": [Interval(Real, 0, None, closed="left")],
        "T1": [Interval(Integral, 0, None, closed="left")],
        "T2": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def alpha_schedule(t, alpha_f=3.0, T1=100, T2=600):
    """Weight of the pseudo-labeled loss at epoch ``t``.

    The deterministic annealing of Lee (2013)::

        α(t) = 0                           if t < T1
        α(t) = α_f · (t − T1) / (T2 − T1)  if T1 ≤ t < T2
        α(t) = α_f                         if t ≥ T2

    Starting at zero lets the network first fit the labeled data, so that its
    pseudo-labels are worth learning from; ramping up slowly keeps early, poor
    pseudo-labels from dominating the gradient.

    Parameters
    ----------
    t : float or array-like of float
        Epoch (0-based). Fractional epochs are allowed.

    alpha_f : float, default=3.0
        Final weight, reached at ``T2``. Must be non-negative.

    T1 : int, default=100
        Last epoch at which the weight is still 0.

    T2 : int, default=600
        Epoch from which the weight is ``alpha_f``. Must be ``>= T1``;
        ``T2 == T1`` is a step from 0 to ``alpha_f``.

    Returns
    -------
    alpha : float or ndarray of float
        A float for scalar ``t``, an array of the shape of ``t`` otherwise.

    Raises
    ------
    ValueError
        If ``T2 < T1``, ``alpha_f < 0`` or ``t`` is not finite.

    Examples
    --------
    >>> from sklearn_pseudolabel import alpha_schedule
    >>> alpha_schedule(350, alpha_f=3.0, T1=100, T2=600)
    1.5
    >>> alpha_schedule([0, 100, 600, 1000], alpha_f=3.0, T1=100, T2=600)
    array([0., 0., 3., 3.])
    """
    if T2 < T1:
        raise ValueError(f"T2 must be >= T1; got T1={T1}, T2={T2}.")
    t_arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t_arr)):
        raise ValueError("t must be finite.")
    if T2 == T1:
        alpha = np.where(t_arr < T1, 0.0, float(alpha_f))
    else:
        ramp = np.clip((t_arr - T1) / (T2 - T1), 0.0, 1.0)
        alpha = float(alpha_f) * ramp
    return float(alpha) if np.ndim(t) == 0 else alpha
