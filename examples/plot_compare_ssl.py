"""
============================================================
Pseudo-Label vs graph-based and self-training methods, by CV
============================================================

Cross-validation on the same folds of scikit-learn's digits with 10 labels per
class: a supervised-only CNN (``alpha_f=0``),
:class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier`,
:class:`~sklearn.semi_supervised.LabelSpreading` (knn and rbf kernels),
:class:`~sklearn.semi_supervised.LabelPropagation` and
:class:`~sklearn.semi_supervised.SelfTrainingClassifier` around a logistic
regression. :class:`~sklearn_pseudolabel.model_selection.SemiSupervisedStratifiedKFold`
gives every method all unlabeled rows for training and scores it on labeled
rows only.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.semi_supervised import (
    LabelPropagation,
    LabelSpreading,
    SelfTrainingClassifier,
)

from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
from sklearn_pseudolabel.model_selection import SemiSupervisedStratifiedKFold

X, y = load_digits(return_X_y=True)
X = X / 16.0
y_partial = hide_labels(y, n_labeled=150, random_state=0)
cv = SemiSupervisedStratifiedKFold(3, shuffle=True, random_state=0)

cnn = dict(channels=(16, 32, 32), max_epochs=30, T1=8, T2=22, lr=0.05, random_state=0)
models = {
    "CNN, supervised": PseudoLabelCNNClassifier(alpha_f=0.0, **cnn),
    "CNN, Pseudo-Label": PseudoLabelCNNClassifier(alpha_f=1.0, threshold=0.95, **cnn),
    "LabelSpreading knn": LabelSpreading(kernel="knn", n_neighbors=7),
    "LabelSpreading rbf": LabelSpreading(kernel="rbf", gamma=4.0),
    "LabelPropagation knn": LabelPropagation(kernel="knn", n_neighbors=7),
    "SelfTraining(LogReg)": SelfTrainingClassifier(LogisticRegression(max_iter=1000)),
}

# %%
results = {
    name: cross_validate(model, X, y_partial, cv=cv, n_jobs=2)
    for name, model in models.items()
}
print(f"{'model':<22} {'accuracy':>15} {'fit time (s)':>13}")
for name, r in results.items():
    acc, t = r["test_score"], r["fit_time"]
    print(f"{name:<22} {acc.mean():.3f} ± {acc.std():.3f} {t.mean():>13.2f}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
names = list(results)
means = [results[n]["test_score"].mean() for n in names]
stds = [results[n]["test_score"].std() for n in names]
ax.barh(names, means, xerr=stds, capsize=3, color="tab:blue")
ax.set_xlim(min(means) - 0.1, 1.0)
ax.set_xlabel("accuracy on labeled validation rows (3-fold CV)")
ax.invert_yaxis()
fig.tight_layout()
plt.show()
