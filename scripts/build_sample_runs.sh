#!/usr/bin/env bash
# Rebuilds sample_runs/: a vanilla and an ASA-1 model trained by the project's training
# CLI on the project's synthetic DVS data, and their recordings on a held-out synthetic
# test set, and a silencing experiment on the vanilla run. Deterministic (seeded); about
# five minutes on a 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=sample_runs
py=.venv/bin/python
common=(--data synthetic --T 10 --dt-ms 30 --widths 16 32 32 --hidden 128 --synthetic-per-class 80
        --epochs 8 --lr 5e-4 --seed 0 --no-progress)
for attention in none asa1; do
  name=$([ "$attention" = none ] && echo vanilla || echo "$attention")
  $py -m models.train "${common[@]}" --attention "$attention" --out "$out/$name.pt"
  $py -m recorder record --checkpoint "$out/$name.pt" --data synthetic --synthetic-per-class 20 \
      --synthetic-seed 1000 --raw-per-class 2 --u-dtype float16 --spikes packed --overwrite --no-progress \
      --out "$out/$name.h5" > /dev/null
done
# what silencing the vanilla run's redundant channels costs (Silence channels page)
$py -m analysis ablate "$out/vanilla.h5" --select noise ghosts --random 3 --sweep noise rate random --step 4 \
    --name silence --no-progress > /dev/null
du -sh "$out"
