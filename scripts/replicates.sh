#!/usr/bin/env bash
# Five-seed replicates of a small vanilla and an ASA-1 LIF-SNN (T = 5 x 60 ms, 17 x 17) on real N-MNIST
# (../shared/data/nmnist-small, or $NMNIST_DIR): each trained by models.train --seeds,
# recorded on the 100 test samples, then compared as the paper's Table 1 (mean ± sd over
# seeds, Welch intervals over seeds) and pairwise per seed (paired bootstrap + McNemar).
#   scripts/replicates.sh [OUT]      (default runs/replicates; SEEDS="0 1 2 3 4")
set -euo pipefail
cd "$(dirname "$0")/.."
data=${NMNIST_DIR:-../shared/data/nmnist-small}
out=${1:-runs/replicates}
read -r -a seeds <<< "${SEEDS:-0 1 2 3 4}"
py=.venv/bin/python
common=(--data "$data" --T 5 --dt-ms 60 --size 17 --widths 8 16 16 --hidden 64 --epochs 25 --lr 2e-3 --no-progress)
mkdir -p "$out"
for attention in none asa1; do
  $py -m models.train "${common[@]}" --attention "$attention" --seeds "${seeds[@]}" --out "$out/$attention.pt"
  for s in "${seeds[@]}"; do
    $py -m recorder record --checkpoint "$out/${attention}_seed$s.pt" --data "$data" --overwrite --no-progress \
        --out "$out/${attention}_seed$s.h5" > /dev/null
  done
done
vanilla=(); asa=()
for s in "${seeds[@]}"; do vanilla+=("$out/none_seed$s.h5"); asa+=("$out/asa1_seed$s.h5"); done
$py -m analysis compare --group vanilla "${vanilla[@]}" --group asa1 "${asa[@]}" --out "$out/table1_replicates.csv"
for s in "${seeds[@]}"; do
  echo; echo "== seed $s: paired on the same 100 test samples"
  $py -m analysis compare "$out/none_seed$s.h5" "$out/asa1_seed$s.h5" --out "$out/paired_seed$s.csv"
done
