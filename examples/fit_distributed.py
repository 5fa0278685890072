"""
==========================================
One fit on several processes with torchrun
==========================================

Data-parallel training of one :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier`:
launch this script with ``torchrun`` and every process (rank) trains on its
share of each batch, the gradients all-reduced, and ends with the same
fitted estimator. ``batch_size`` and ``batch_size_unlabeled`` stay global:
each rank takes its share of them, so the hyperparameters (the learning rate
among them) mean what they mean in one process. On one machine::

    torchrun --nproc_per_node 2 fit_distributed.py

On GPUs, use the ``"nccl"`` backend and one device per process,
``device=f"cuda:{os.environ['LOCAL_RANK']}"``. This script is not run when
the documentation is built: it needs its launcher.
"""

import joblib
import torch.distributed as dist
from sklearn.datasets import load_digits

from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels

dist.init_process_group("gloo")  # "nccl" on GPUs
X, y = load_digits(return_X_y=True)
y_partial = hide_labels(y, n_labeled=100, random_state=0)
clf = PseudoLabelCNNClassifier(random_state=0).fit(X / 16.0, y_partial)
if dist.get_rank() == 0:  # every rank holds the same model: one writes it
    joblib.dump(clf, "model.joblib")
dist.destroy_process_group()
