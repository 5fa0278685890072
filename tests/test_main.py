import pytest
from sklearn.semi_supervised import LabelSpreading

from sklearn_pseudolabel import PseudoLabelCNNClassifier, __main__

from .conftest import TINY


def test_demo_prints_each_draw_the_means_and_a_verdict(monkeypatch, capsys):
    def tiny_models(seed):
        return {
            "PseudoLabelCNNClassifier()": PseudoLabelCNNClassifier(
                **TINY, max_epochs=2, random_state=seed
            ),
            "Supervised CNN (alpha_f=0)": PseudoLabelCNNClassifier(
                **TINY, max_epochs=2, alpha_f=0.0, random_state=seed
            ),
            "LabelSpreading (knn)": LabelSpreading(kernel="knn", n_neighbors=7),
        }

    monkeypatch.setattr(__main__, "_models", tiny_models)
    __main__.main(["--draws", "2", "--seed", "5"])
    out = capsys.readouterr().out
    rows = [
        line.split() for line in out.splitlines() if line[:3] in ("Pse", "Sup", "Lab")
    ]
    draws = [row for row in rows if row[-3] in ("5", "6")]
    assert len(draws) == 6  # three models, two draws (seeds 5 and 6)
    means = [row for row in rows if row[-3] == "mean"]
    assert len(means) == 3
    assert all(0 <= float(row[-2]) <= 1 for row in draws + means)
    assert "the best other model" in out and "2 draw(s)" in out


def test_demo_rejects_no_draws(capsys):
    with pytest.raises(SystemExit):
        __main__.main(["--draws", "0"])
    assert "--draws must be at least 1" in capsys.readouterr().err
