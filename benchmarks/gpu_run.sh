#!/usr/bin/env bash
# One prepared command for a lent GPU (about 15 minutes in all, calls of at most 10 minutes):
#
#   bash benchmarks/gpu_run.sh OUTDIR [--npz PATH] [--dry-run]
#
# 1. python -m lgtools.smoke: a few seconds on each GPU branch (bf16 autocast, channels_last,
#    fused SGD, torch.compile, JPEG decoding on the device)            -> OUTDIR/smoke.json
# 2. the fast recipe's Table I pair (sweeps/converged/table1_w64.yaml: whitened-patch CNN at its
#    published width, 10 epochs, fine and coarse labels, 10 seeds; seconds a run) -> OUTDIR/results/
# 3. python -m lgtools.bench at width 64 against the reference on the same GPU (targets of the
#    performance issue: speedup >= 10, >= 55,000 training img/s at batch 256) -> OUTDIR/bench/
# 4. as much of the paper-scale CIFAR-10 Table I pair (seed 0, fine and coarse, 200 epochs, the
#    authors' schedule) as the minutes left allow, through the resumable sweep: each result is
#    written under OUTDIR/results/ as it finishes, checkpoints under OUTDIR/runs/ (carry them
#    back into a later call to resume).
#
# Runs from the tree (PYTHONPATH=.) on Python 3.12 with torch 2.11, no papermill; stops itself
# inside 9 minutes (GPU_RUN_SECONDS). --npz is the offline CIFAR-10 archive (default
# data/cifar10-jpeg.npz: copy ../shared/data/cifar10-jpeg.npz there and carry data/).
# --dry-run runs the same three steps on the CPU at toy size (a toy archive it writes, width 4,
# a two-run spec of one epoch); tests/test_gpu_run.py runs it in `make test`.
set -uo pipefail

usage() { echo "usage: bash benchmarks/gpu_run.sh OUTDIR [--npz PATH] [--dry-run]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1; shift
NPZ=data/cifar10-jpeg.npz
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --npz) [ $# -ge 2 ] || usage; NPZ=$2; shift ;;
    *) usage ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
BUDGET=${GPU_RUN_SECONDS:-540}
START=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
status=0

if [ "$DRY" = 1 ]; then
  DEVICE=cpu; NPZ="$OUT/toy/cifar10-jpeg.npz"; WIDTH=4
  BENCH_ARGS=(--steps 2 --warmup 1 --rounds 1 --batch-size 16 --workers 1)
  SMOKE_ARGS=(--toy-npz "$NPZ")
else
  DEVICE=cuda; WIDTH=64
  BENCH_ARGS=(--steps 30 --warmup 10 --rounds 3 --batch-size 256 --workers 8 --compile on)
  SMOKE_ARGS=()
fi
echo "gpu_run: device $DEVICE, budget ${BUDGET} s, out $OUT"

# sweep_for SECONDS SPEC [OPTIONS...]: a resumable sweep for at most SECONDS. SIGTERM stops the runs in
# flight cleanly; they resume from OUTDIR/runs on the next call.
sweep_for() {
  local seconds=$1 spec=$2; shift 2
  timeout --signal=TERM --kill-after=30 "$seconds" "$PY" -m lgtools -v sweep "$spec" "$@" \
    --data-root "$NPZ" --results "$OUT/results" --runs-dir "$OUT/runs" --no-progress
  local rc=$?
  if [ $rc -eq 124 ]; then echo "gpu_run: $spec ran out of time; rerun to resume from $OUT/runs"
  elif [ $rc -ne 0 ]; then status=1; fi
}

echo "== 1/4 smoke test"
timeout "$(left)" "$PY" -m lgtools.smoke --device "$DEVICE" --out "$OUT/smoke.json" "${SMOKE_ARGS[@]}" || status=1
[ -f "$NPZ" ] || { echo "gpu_run: $NPZ not found (pass --npz PATH)" >&2; exit 2; }

echo "== 2/4 the fast recipe's Table I pair"
if [ "$DRY" = 1 ]; then
  RECIPE_SPEC="$OUT/toy/recipe-dry-run.yaml"
  cat > "$RECIPE_SPEC" <<YAML
name: recipe-dry-run
scale: dry-run
recipe: fast
train: {}
parameters: {dataset: cifar10, width: 4, epochs: 1, batch_size: 16, device: cpu}
grid:
  seed: [0, 1]
  labels: [fine, coarse]
YAML
else
  RECIPE_SPEC=sweeps/converged/table1_w64.yaml
fi
sweep_for "$(( $(left) / 3 ))" "$RECIPE_SPEC"

echo "== 3/4 benchmark at width $WIDTH"
"$PY" -c "import sys; from lgtools.data.sources import export_image_folder as e; e(sys.argv[1], sys.argv[2])" \
  "$NPZ" "$OUT/imagefolder" || status=1
timeout "$(( $(left) / 3 ))" "$PY" -m lgtools.bench --data "$OUT/imagefolder" --width "$WIDTH" --device "$DEVICE" \
  --out "$OUT/bench" "${BENCH_ARGS[@]}" || status=1
rm -rf "$OUT/imagefolder"  # 60,000 small files: not worth bringing back

echo "== 4/4 paper-scale CIFAR-10 Table I pair, for the $(left) s left"
if [ "$DRY" = 1 ]; then
  SPEC="$OUT/toy/table1-dry-run.yaml"
  cat > "$SPEC" <<YAML
name: table1-dry-run
scale: dry-run
train: {}
parameters: {dataset: cifar10, model: preact_resnet18, width: 4, epochs: 1, batch_size: 16, seed: 0, device: cpu}
grid:
  labels: [fine, coarse]
YAML
  ONLY=()
else
  SPEC=sweeps/table1.yaml
  ONLY=(--only dataset=cifar10 --only seed=0)
fi
sweep_for "$(( $(left) - 30 ))" "$SPEC" "${ONLY[@]}" --jobs 2
echo "gpu_run: finished in $(( $(date +%s) - START )) s, status $status"
exit $status
