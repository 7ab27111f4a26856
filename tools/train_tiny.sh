#!/usr/bin/env bash
# `make train-tiny`: a tiny ViLaSR from a seed through the three stages on the simulated world, then evaluated
# on a held-out generated benchmark with and without tools. Every step resumes: rerun to continue.
#
#   SEED=0 OUT=build/train_tiny SFT1_STEPS=1500 SFT2_STEPS=4000 RRS_LIMIT=60 RRS_STEPS=300 GRPO_STEPS=40 \
#     EVAL_ITEMS=80 bash tools/train_tiny.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# One intra-op thread unless told otherwise: on a shared 2-core machine two threads thrashed (an SFT example
# took 9 s against 1 s with one thread, measured here); on a dedicated machine raise OMP_NUM_THREADS.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
SEED=${SEED:-0}
OUT=${OUT:-build/train_tiny}
SFT1_STEPS=${SFT1_STEPS:-1500}     # curriculum part 1: one-object questions
SFT2_STEPS=${SFT2_STEPS:-4000}     # curriculum part 2: every family
RRS_LIMIT=${RRS_LIMIT:-60}
RRS_STEPS=${RRS_STEPS:-300}
GRPO_STEPS=${GRPO_STEPS:-40}
EVAL_ITEMS=${EVAL_ITEMS:-80}
TOKENS=${TOKENS:-200}              # max new tokens per turn in sampling and evaluation (ideal turns are shorter)
TRAIN_ITEMS=${TRAIN_ITEMS:-1200}
SCENE=(--frames 3 --width 224 --height 168)
vr() { python -c 'import sys; from vilasr_ros.cli import main; sys.exit(main(sys.argv[1:]))' "$@"; }
step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
mkdir -p "$OUT"

# SIZE: extra init-tiny flags, e.g. SIZE="--hidden-size 256 --vision-hidden-size 128"
[ -f "$OUT/init/config.json" ] || { step init; vr train init-tiny --out "$OUT/init" --seed "$SEED" ${SIZE:-}; }
bench() {  # name seed items scenes [families]
  [ -f "$OUT/$1/benchmark.json" ] || vr bench-gen --out "$OUT/$1" --seed "$2" --items "$3" --scenes "$4" "${SCENE[@]}" ${5:+--families "$5"}
}
step benchmarks
bench train_one $((1000 + SEED)) $((TRAIN_ITEMS / 3)) $((TRAIN_ITEMS / 9)) object_size,object_count
bench train_all $((2000 + SEED)) "$TRAIN_ITEMS" $((TRAIN_ITEMS / 6))
bench heldout $((9000 + SEED)) "$EVAL_ITEMS" $((EVAL_ITEMS / 8 + 1))
[ -f "$OUT/data_one.jsonl" ] || vr train data --bench "$OUT/train_one" --out "$OUT/data_one.jsonl" --seed "$SEED"
[ -f "$OUT/data_all.jsonl" ] || vr train data --bench "$OUT/train_all" --out "$OUT/data_all.jsonl" --seed "$SEED"

step "stage 1a: sft on one-object questions"
vr train sft --model "$OUT/init" --data "$OUT/data_one.jsonl" --out "$OUT/stage1a" --steps "$SFT1_STEPS" \
  --lr 2e-3 --warmup 50 --save-every 100 --seed "$SEED"
step "stage 1b: sft on every family"
vr train sft --model "$OUT/stage1a" --data "$OUT/data_all.jsonl" --out "$OUT/stage1" --steps "$SFT2_STEPS" \
  --lr 1e-3 --warmup 50 --save-every 100 --seed "$SEED"
step "stage 2: reflective rejection sampling"
if [ ! -f "$OUT/stage2/config.json" ]; then
  status=0
  vr train rrs --model "$OUT/stage1" --bench "$OUT/train_all" --out "$OUT/stage2" --limit "$RRS_LIMIT" --k 4 \
    --max-new-tokens "$TOKENS" \
    --steps "$RRS_STEPS" --lr 3e-4 --warmup 10 --save-every 50 --seed "$SEED" || status=$?
  [ "$status" -le 1 ] || exit "$status"
  if [ "$status" -eq 1 ]; then  # nothing correct to learn from: stage 3 starts from stage 1
    echo "stage 2 kept no trace; stage 3 starts from stage 1" >&2
    STAGE2=stage1
  fi
fi
STAGE2=${STAGE2:-stage2}
step "stage 3: grpo"
vr train grpo --model "$OUT/$STAGE2" --bench "$OUT/train_all" --out "$OUT/stage3" --steps "$GRPO_STEPS" --group 4 \
  --max-new-tokens "$TOKENS" \
  --lr 1e-4 --warmup 0 --save-every 10 --seed "$SEED"
for stage in $(printf '%s\n' stage1 "$STAGE2" stage3 | uniq); do
  for mode in tools no_tools; do
    step "eval $stage $mode"
    vr eval "$OUT/heldout" --out "$OUT/eval/$stage-$mode" --model "$OUT/$stage" --temperature 0 \
      --max-new-tokens "$TOKENS" $([ "$mode" = no_tools ] && echo --no-tools) >/dev/null
  done
done
for mode in tools no_tools; do  # chance: a random box and a random answer (no tools: the answer only)
  vr eval "$OUT/heldout" --out "$OUT/eval/random-$mode" --backend replay --trace random \
    $([ "$mode" = no_tools ] && echo --no-tools) >/dev/null
done
python - "$OUT" <<'PY'
import json, sys
from collections import Counter
from pathlib import Path

out = Path(sys.argv[1])
rows = {}
for run in sorted((out / "eval").iterdir()):
    records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines() if line.strip()]
    choice = [r["score"] for r in records if r["problem_type"] == "multiple choice"]
    numeric = [r["score"] for r in records if r["problem_type"] != "multiple choice"]
    rows[run.name] = {
        "items": len(records),
        "mean_score": sum(r["score"] for r in records) / len(records),
        "choice_accuracy": sum(choice) / len(choice) if choice else None,
        "numeric_mra": sum(numeric) / len(numeric) if numeric else None,
        "format_valid": sum(r["format_valid"] for r in records) / len(records),
        "stop_reasons": dict(Counter(r["stop_reason"] for r in records)),
    }
    row = rows[run.name]
    print(f"{run.name:18s} items {row['items']:4d}  score {row['mean_score']:.3f}  format valid {row['format_valid']:.1%}")
(out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
PY
