#!/usr/bin/env bash
# The GPU checks and benchmarks, in one go, for a session with a lent GPU.
#
# Run from the repository root on the GPU machine, with this library's
# dependencies importable (torch with CUDA, skorch, scikit-learn),
# $SKLEARN_PSEUDOLABEL_DATA holding mnist/mnist.npz and $BENCH_COMMIT naming
# the commit measured (the machine's copy of the tree may carry a stale .git):
#
#     BUDGET_S=450 OUT=/some/folder bash benchmarks/gpu_session.sh
#
# The machine has no network: bring skorch, scikit-learn and their pure-Python
# dependencies as wheels (`pip download --no-deps --only-binary=:all:
# --python-version 3.12 ...` into an ignored .whl/, installed there with `pip
# install --no-index --no-deps --target`) and the MNIST file in an ignored
# .devdata/mnist/, both carried with the call.
#
# The steps run in the order of $STEPS (default: "tests speed defaults
# precision augment"), each skipped when the budget (seconds from the start)
# has too little left for it, each capped at its own time limit:
#
# - tests: tests/test_cuda.py (the GPU path's correctness);
# - speed: bench_speed.py --device cuda (estimator vs bare loop, images/s);
# - defaults: bench_accuracy.py --device cuda, the defaults at 100 labels on
#   a fresh draw (test error and minutes);
# - precision: bench_precision.py --device cuda, seconds per Pseudo-Label
#   epoch of the defaults in float32 and bfloat16;
# - augment: bench_augment_throughput.py --device cuda, on 2,000 images (its
#   per-sample torchvision baselines run on the CPU).
#
# After every step, docs/benchmarks.md and benchmarks/results/ are packed into
# $OUT/results.tar, so that what finished comes back even if a later step is
# cut off; the log goes to stdout.

set -u
OUT=${OUT:-/tmp/gpu_session}
mkdir -p "$OUT"
START=$(date +%s)
DEADLINE=$((START + ${BUDGET_S:-500}))

pack() {
    tar -cf "$OUT/results.tar" docs/benchmarks.md docs/_static benchmarks/results
}

# step NAME NEED CAP COMMAND...: run COMMAND if NEED seconds are left, for at
# most CAP seconds (or what is left). Sets LAST_SECONDS.
step() {
    local name=$1 need=$2 cap=$3
    shift 3
    local left=$((DEADLINE - $(date +%s)))
    LAST_SECONDS=0
    if ((left < need)); then
        echo "=== skip $name: ${left} s left, needs ${need} s"
        return
    fi
    ((cap > left)) && cap=$left
    echo "=== $name (at most ${cap} s), $(date -u +%T)"
    local t0
    t0=$(date +%s)
    timeout "$cap" "$@"
    local rc=$?
    LAST_SECONDS=$(($(date +%s) - t0))
    echo "=== $name: rc=$rc in ${LAST_SECONDS} s"
    pack
}

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
python3 - <<'EOF' || exit 1
import os
import sklearn, skorch, torch, torchvision
from sklearn_pseudolabel import fetch_mnist
print("torch", torch.__version__, "torchvision", torchvision.__version__,
      "sklearn", sklearn.__version__, "skorch", skorch.__version__,
      "cuda", torch.cuda.is_available(), torch.cuda.get_device_name())
assert torch.cuda.is_available()
fetch_mnist(
    subset="test",
    data_home=os.environ["SKLEARN_PSEUDOLABEL_DATA"],
    download_if_missing=False,
)
EOF

ALL_STEPS="tests speed defaults precision augment"
for name in ${STEPS:-$ALL_STEPS}; do
    case $name in
    tests) step tests 30 150 python3 -m pytest -q -p no:cacheprovider \
        tests/test_cuda.py ;;
    speed) step speed 60 150 python3 benchmarks/bench_speed.py --device cuda \
        --rounds 5 ;;
    defaults) step defaults 180 300 python3 benchmarks/bench_accuracy.py \
        --n-labeled 100 --draws 100 --device cuda ;;
    precision) step precision 60 120 python3 benchmarks/bench_precision.py \
        --device cuda --rounds 2 --epochs 4 ;;
    augment) step augment 40 120 python3 benchmarks/bench_augment_throughput.py \
        --device cuda --n 2000 --repeat 3 ;;
    *) echo "=== unknown step $name ($ALL_STEPS)" ;;
    esac
done
echo "=== done in $(($(date +%s) - START)) s"
