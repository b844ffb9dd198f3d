"""Rule cnn_feature_maps: activations of each conv and pooling layer for one digit."""

import numpy as np

from mnist_study import data, figures
from mnist_study.datasets import get_spec
from mnist_study.keras_models import configure_backend
from mnist_study.runtime import setup_logging
from mnist_study.storage import atomic_path, verify_checksum


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    configure_backend(snakemake.threads, snakemake.params.backend)
    import keras

    from mnist_study import keras_models

    verify_checksum(snakemake.input.model)
    model = keras.saving.load_model(snakemake.input.model)
    train = data.read_split(snakemake.input.train)
    index = snakemake.params.image
    if index >= len(train):
        raise ValueError(f"cnn.feature_map_image is {index}, but there are {len(train)} images")
    maps = keras_models.feature_maps(model, train.X[index])
    for name, activations in maps:
        log.info("%s: %s", name, activations.shape)
    with atomic_path(snakemake.output.arrays) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, image=train.X[index].reshape(28, 28), **dict(maps))
    spec = get_spec(snakemake.wildcards.dataset)
    fig = figures.feature_maps(
        train.X[index],
        maps,
        f"CNN (seed {snakemake.params.seed}) feature maps of training image {index} "
        f"({spec.classes[int(train.y[index])]})",
    )
    figures.save(fig, snakemake.output.figure)


if "snakemake" in globals():
    main(globals()["snakemake"])
