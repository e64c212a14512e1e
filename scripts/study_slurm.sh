#!/usr/bin/env bash
# The adversarial-training study as a Slurm job array: one shard of the grid
# per array task, every task writing its runs into one shared directory (each
# run is its own directory, so tasks never touch the same files; a task that
# is killed or pre-empted resumes its runs when resubmitted).
#
#   sbatch --array=0-15 scripts/study_slurm.sh [study flags, e.g. --seeds 5 --steps 3000]
#   # then, when every task is done:
#   ./target/release/gan-tutorial study report runs/study-adv-d
#
# STUDY_OUT sets the directory (default runs/study-adv-d, on a shared file
# system); every task must pass the same study flags (the directory's
# study.json refuses a task with other settings).
#SBATCH --job-name=adv-d
#SBATCH --cpus-per-task=4
#SBATCH --time=08:00:00
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=0-(N-1)}"
n="${SLURM_ARRAY_TASK_COUNT:-$((SLURM_ARRAY_TASK_MAX + 1))}"
out="${STUDY_OUT:-runs/study-adv-d}"
exec ./target/release/gan-tutorial study adv-d --shard "$SLURM_ARRAY_TASK_ID/$n" --out "$out" "$@"
