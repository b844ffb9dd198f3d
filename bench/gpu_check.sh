#!/usr/bin/env bash
# The GPU timing of the Keras levers, prepared to run in one call of a GPU machine that
# has JAX (with CUDA) but not Keras, such as this workplace's device machines:
#
#   bash bench/gpu_check.sh [DATA_DIR]        # DATA_DIR: four IDX .gz files, 60,000 images
#
# Keras, namex and optree come from the wheels in .whl/ when the machine's python3 lacks
# Keras (fetch them as the device tool's README says, for Python 3.12). DATA_DIR defaults
# to .devdata/, a copy of ../shared/datasets/fashion-mnist (../shared does not travel).
# Writes gpu.txt (the card, driver, jax, torch and keras versions), the JAX timings
# keras_levers_jax_gpu.{json,md} (levers $LEVERS, default fit, spe16 and scan), the torch
# timings keras_levers_torch_gpu.{json,md} (fit: Keras's torch trainer has no other
# setting) and levers.log under $OUT (default bench/results). EPOCHS sets the epochs
# per run (default 4). Each lever runs in a fresh process, so most of the few minutes
# this takes is starting the backend and compiling. With the device tool: carry
# [".whl", ".devdata"], command `bash bench/gpu_check.sh`, and a timeout that leaves
# room for a second try.
set -euo pipefail

data=${1:-.devdata}
out=${OUT:-bench/results}
levers=${LEVERS:-fit spe16 scan}
epochs=${EPOCHS:-4}
mkdir -p "$out"
for split in train-images-idx3 train-labels-idx1 t10k-images-idx3 t10k-labels-idx1; do
    [[ -f $data/$split-ubyte.gz ]] || { echo "missing $data/$split-ubyte.gz" >&2; exit 2; }
done
if ! python3 -c 'import keras' 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python3 -c 'import jax, keras; print("jax", jax.__version__, "keras", keras.__version__, jax.devices())'
    python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' || true
} | tee "$out/gpu.txt"
{
    # shellcheck disable=SC2086  # the levers are meant to split into words
    KERAS_BACKEND=jax python3 bench/keras_levers.py "$data" --levers $levers \
        --epochs "$epochs" --out "$out/keras_levers_jax_gpu"
    if python3 -c 'import torch' 2>/dev/null; then
        KERAS_BACKEND=torch python3 bench/keras_levers.py "$data" --levers fit \
            --epochs "$epochs" --out "$out/keras_levers_torch_gpu"
    fi
} 2>&1 | tee "$out/levers.log"
