"""The seed project's network in Keras (TensorFlow, CPU): the reference head-ct replaces.

Same data folders, resize and scaling as head-ct (see common.py), batch size 10, Adam 1e-3 with
Keras' default epsilon 1e-7, binary cross-entropy, 10 epochs, shuffled, validation after every
epoch (inside the timed `model.fit`, as head-ct's `train_model`). Both cores: TensorFlow's intra-op and
inter-op thread pools are set to 2. Prints one JSON line (see benches/compare.sh).

Run: python keras_reference.py <prepared folder>   (EPOCHS, SEED from the environment)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import common  # noqa: E402

THREADS = int(os.environ.get("THREADS", "2"))


def build_model():
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
        layers.Conv2D(16, (3, 3), activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main():
    root, epochs, seed = common.settings()
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    tf.keras.utils.set_random_seed(seed)

    with common.Timer() as load:
        x_train, y_train, _ = common.load_split(root / "train")
        x_val, y_val, val_paths = common.load_split(root / "validate")
    model = build_model()
    assert model.count_params() == 265_953, model.count_params()

    with common.Timer() as fit:
        history = model.fit(
            x_train, y_train, batch_size=10, epochs=epochs, shuffle=True,
            validation_data=(x_val, y_val), validation_batch_size=25, verbose=0,
        )

    def predict(x):
        return np.concatenate([
            model(x[i:i + 25], training=False).numpy().ravel() for i in range(0, len(x), 25)
        ])

    probabilities = predict(x_val)
    infer_s = float("inf")
    for _ in range(5):
        with common.Timer() as t:
            predict(x_val)
        infer_s = min(infer_s, t.seconds)

    single = []
    files = common.single_image_files(root, val_paths)
    for _ in range(5):
        for path in files:
            with common.Timer() as t:
                x = common.load_image(path)[None]
                float(model(x, training=False).numpy()[0, 0])
            single.append(t.seconds * 1e3)

    common.report(
        stack="keras",
        version=f"tensorflow {tf.__version__}",
        threads=THREADS,
        epochs=epochs,
        load_s=load.seconds,
        fit_s=fit.seconds,
        train_images_per_s=epochs * len(x_train) / fit.seconds,
        infer_images_per_s=len(x_val) / infer_s,
        single_image_ms=common.median(single),
        val_accuracy=common.accuracy(probabilities, y_val),
        val_auc=common.auc(probabilities, y_val),
        final_loss=float(history.history["loss"][-1]),
        peak_rss_mib=common.peak_rss_mib(),
    )


if __name__ == "__main__":
    main()
