"""The seed project's network in PyTorch (CPU).

Same data folders, resize and scaling as head-ct (see common.py); the same initialisation as
Keras and head-ct (Glorot uniform weights, zero biases); batch size 10; Adam 1e-3 with Keras'
epsilon 1e-7 (PyTorch's default is 1e-8; head-ct and Keras use 1e-7); binary cross-entropy on
the logit (BCEWithLogitsLoss); 10 epochs, shuffled every epoch; validation after every epoch,
inside the timed fit. Both cores: `torch.set_num_threads(2)`. Prints one JSON line.

Run: python torch_reference.py <prepared folder>   (EPOCHS, SEED from the environment)
"""

import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import common  # noqa: E402

THREADS = int(os.environ.get("THREADS", "2"))


def build_model():
    def block(i, o):
        return [nn.Conv2d(i, o, 3), nn.ReLU(), nn.MaxPool2d(2)]

    model = nn.Sequential(
        *block(3, 16), *block(16, 32), *block(32, 64), *block(64, 64), *block(64, 128),
        nn.Flatten(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 1),
    )
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def to_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def main():
    root, epochs, seed = common.settings()
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)

    with common.Timer() as load:
        x_train, y_train, _ = common.load_split(root / "train")
        x_val, y_val, val_paths = common.load_split(root / "validate")
    x_train, x_val = to_nchw(x_train), to_nchw(x_val)
    y_train_t = torch.from_numpy(y_train)[:, None]
    y_val_t = torch.from_numpy(y_val)[:, None]

    model = build_model()
    assert sum(p.numel() for p in model.parameters()) == 265_953
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    shuffle = torch.Generator().manual_seed(seed)

    def logits(x):
        model.eval()
        with torch.inference_mode():
            return torch.cat([model(x[i:i + 25]) for i in range(0, len(x), 25)])

    def predict(x):
        return torch.sigmoid(logits(x)).numpy().ravel()

    with common.Timer() as fit:
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x_train), generator=shuffle)
            total = 0.0
            for i in range(0, len(order), 10):
                idx = order[i:i + 10]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x_train[idx]), y_train_t[idx])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            final_loss = total / len(order)
            # Validation after every epoch, as Keras' fit and head-ct's fit do.
            val_logits = logits(x_val)
            val_loss = float(loss_fn(val_logits, y_val_t))

    probabilities = predict(x_val)
    infer_s = float("inf")
    for _ in range(5):
        with common.Timer() as t:
            predict(x_val)
        infer_s = min(infer_s, t.seconds)

    single = []
    files = common.single_image_files(root, val_paths)
    model.eval()
    for _ in range(5):
        for path in files:
            with common.Timer() as t:
                x = to_nchw(common.load_image(path)[None])
                with torch.inference_mode():
                    float(torch.sigmoid(model(x))[0, 0])
            single.append(t.seconds * 1e3)

    common.report(
        stack="pytorch",
        version=f"torch {torch.__version__}",
        threads=THREADS,
        epochs=epochs,
        load_s=load.seconds,
        fit_s=fit.seconds,
        train_images_per_s=epochs * len(x_train) / fit.seconds,
        infer_images_per_s=len(x_val) / infer_s,
        single_image_ms=common.median(single),
        val_accuracy=common.accuracy(probabilities, y_val),
        val_auc=common.auc(probabilities, y_val),
        final_loss=final_loss,
        final_val_loss=val_loss,
        peak_rss_mib=common.peak_rss_mib(),
    )


if __name__ == "__main__":
    main()
