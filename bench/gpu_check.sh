#!/usr/bin/env bash
# The GPU timing of the Keras levers, prepared to run in one call of a GPU machine that
# has JAX (with CUDA) but not Keras, such as this workplace's device machines:
#
#   bash bench/gpu_check.sh [DATA_DIR]        # DATA_DIR: four IDX .gz files, 60,000 images
#
# Keras, namex and optree come from the wheels in .whl/ when the machine's python3 lacks
# Keras (fetch them as the device tool's README says, for Python 3.12). DATA_DIR defaults
# to .devdata/, a copy of ../shared/datasets/fashion-mnist (../shared does not travel).
# Writes gpu.txt (the card, driver, jax and keras versions) and, per model,
# keras_levers_jax_gpu_<model>.{json,md} and levers_<model>.log under $OUT (default
# bench/results). LEVERS and EPOCHS override the levers timed and the epochs per run.
# Each lever runs in a fresh process, so most of the few minutes this takes is starting
# JAX and compiling. With the device tool: carry [".whl", ".devdata"], command
# `bash bench/gpu_check.sh`, and a timeout that leaves room for a second try.
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
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python3 -c 'import jax, keras; print("jax", jax.__version__, "keras", keras.__version__, jax.devices())'
} | tee "$out/gpu.txt"
for model in mlp cnn; do
    # shellcheck disable=SC2086  # the levers are meant to split into words
    python3 bench/keras_levers.py "$data" --models "$model" --levers $levers \
        --epochs "$epochs" --out "$out/keras_levers_jax_gpu_$model" 2>&1 |
        tee "$out/levers_$model.log"
done
