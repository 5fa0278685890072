"""
======================================================
Tuning the α schedule (alpha_f, T1, T2) by grid search
======================================================

``alpha_f``, ``T1`` and ``T2`` are ordinary hyperparameters of
:class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier`, so
:class:`~sklearn.model_selection.GridSearchCV` tunes them. With unlabeled
rows (``y == -1``) in the data, use
:class:`~sklearn_pseudolabel.model_selection.SemiSupervisedStratifiedKFold`:
it keeps every unlabeled image in every training fold and validates on
labeled images only. ``T1`` and ``T2`` given as floats are fractions of the
run, so the grid means the same whatever ``max_epochs`` is. Data:
scikit-learn's 8×8 digits with 20 labels per class (MNIST-like, but offline
and fast).
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
from sklearn_pseudolabel.model_selection import SemiSupervisedStratifiedKFold

X, y = load_digits(return_X_y=True)
X = X / 16.0
y_partial = hide_labels(y, n_labeled=200, random_state=0)

# The schedule alone: no student round after the Pseudo-Label epochs.
clf = PseudoLabelCNNClassifier(
    channels=(16, 32, 32), max_epochs=20, lr=0.05, student_epochs=0, random_state=0
)
# Two ramps (start, end, as fractions of the run), each tried with four
# final weights.
param_grid = [
    {"alpha_f": [0.0, 0.3, 1.0, 3.0], "T1": [T1], "T2": [T2]}
    for T1, T2 in [(0.1, 0.5), (0.4, 0.8)]
]
search = GridSearchCV(
    clf,
    param_grid,
    cv=SemiSupervisedStratifiedKFold(3, shuffle=True, random_state=0),
    n_jobs=2,
)
search.fit(X, y_partial)
print("best:", search.best_params_, f"accuracy {search.best_score_:.3f}")

# %%
# Validation accuracy over the grid (mean ± std over the 3 folds, on the
# labeled rows of each validation fold).
results = pd.DataFrame(search.cv_results_)
fig, ax = plt.subplots(figsize=(6, 4))
for (T1, T2), rows in results.groupby(["param_T1", "param_T2"]):
    ax.errorbar(
        rows["param_alpha_f"].astype(float),
        rows["mean_test_score"],
        yerr=rows["std_test_score"],
        marker="o",
        capsize=3,
        label=f"T1={T1}, T2={T2}",
    )
ax.set_xscale("symlog", linthresh=0.3)
ax.set_xlabel("alpha_f (0 = supervised only)")
ax.set_ylabel("validation accuracy")
ax.set_title("Pseudo-Label schedule, 200 labeled digits")
ax.legend()
fig.tight_layout()
plt.show()
