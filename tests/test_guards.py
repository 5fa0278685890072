"""The guards around a fit: all or nothing, torch's RNG, Ctrl-C."""

import signal

import pytest
import torch

from sklearn_pseudolabel._guards import all_or_nothing, fit_guards


class _Estimator:
    @all_or_nothing
    def fit(self, fail):
        self.fitted_ = True
        self.param = "changed"
        if fail:
            raise fail
        return self


@pytest.mark.parametrize("error", [ValueError("bad"), KeyboardInterrupt()])
def test_a_failed_fit_leaves_the_estimator_as_it_was(error):
    estimator = _Estimator()
    estimator.param = "given"
    with pytest.raises(type(error)):
        estimator.fit(error)
    assert vars(estimator) == {"param": "given"}
    assert estimator.fit(None).fitted_ and estimator.param == "changed"


def test_a_swallowed_ctrl_c_is_raised_by_check():
    with pytest.raises(KeyboardInterrupt):
        with fit_guards("cpu") as ctrl_c:
            ctrl_c.check()  # nothing pressed yet
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # as skorch does
            assert ctrl_c.pressed
            ctrl_c.check()


def test_fit_guards_restore_the_rng_and_the_handler():
    before = signal.getsignal(signal.SIGINT)
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    with fit_guards("cpu") as ctrl_c:
        torch.rand(5)
        assert signal.getsignal(signal.SIGINT) == ctrl_c._handle
    assert torch.equal(torch.rand(1), expected)
    assert signal.getsignal(signal.SIGINT) is before
