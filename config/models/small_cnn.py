"""An example of a Keras model of your own (config/README.md, `models:`).

The pipeline calls `build(input_shape, n_classes, settings)`: input_shape is (28, 28, 1),
n_classes the dataset's class count, settings the entry's `settings:`. It returns an
uncompiled keras.Model of Keras's own layers ending in a softmax over the classes; the
pipeline compiles it (the entry's optimizer and learning rate, cross-entropy), trains it
once per seed and saves it as a .keras file, loaded again in Keras's safe mode.
"""

import keras
from keras import layers


def build(input_shape, n_classes, settings):
    filters = settings.get("filters", 16)
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(filters, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(2 * filters, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(settings.get("dropout", 0.3)),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="small_cnn",
    )
