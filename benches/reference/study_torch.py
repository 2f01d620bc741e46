"""The work of `head-ct study` in pydicom + PyTorch (CPU), for benches/study_scale.sh (issue 25).

Walks the folders given (recursively, in sorted order, hidden files skipped), reads every file
with pydicom (files that are not DICOM or have no pixel data are counted as skipped), applies
RescaleSlope/RescaleIntercept (1 and 0 when missing), shows the CT numbers in the brain window
(level 40, width 80; DICOM's LINEAR function, as head-ct's `Window::grey`; MONOCHROME1
inverted), resizes to 150x150 with an anti-aliased bilinear filter
(`torch.nn.functional.interpolate(mode="bilinear", antialias=True)`, the triangle filter whose
support widens with the downscaling factor: PIL's BILINEAR and head-ct's `FilterType::Triangle`),
repeats it in 3 channels (windowed first, then resized, as head-ct does), and predicts in
batches of 32 with the same network as torch_reference.py (Glorot-uniform random weights: only
throughput matters). At the end the slices are put in order per study and series (by
ImagePositionPatient along the slice normal, as head-ct does) and counted.

Decoding is serial in this process, as in a plain pydicom program; WORKERS=N (default 0) reads
and windows in N DataLoader worker processes instead. Both cores for PyTorch:
`torch.set_num_threads(2)` (THREADS). Prints one JSON line.

Run: python study_torch.py FOLDER...
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pydicom  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_reference import build_model  # noqa: E402

THREADS = int(os.environ.get("THREADS", "2"))
WORKERS = int(os.environ.get("WORKERS", "0"))
BATCH = 32
SIDE = 150
LEVEL, WIDTH = 40.0, 80.0


def walk(roots):
    for root in roots:
        if os.path.isfile(root):
            yield root
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield os.path.join(dirpath, name)


def brain_window(hu):
    """DICOM PS3.3 C.11.2.1.2.1 LINEAR, as grey levels in [0, 1]."""
    c, w = LEVEL - 0.5, WIDTH - 1.0
    return np.clip((hu - c) / w + 0.5, 0.0, 1.0).astype(np.float32)


def read_slice(path):
    """(grey 2-D float32 array, (study, series, position along the normal)) or None."""
    try:
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds:
            return None
        stored = ds.pixel_array
    except Exception:  # not DICOM, truncated, no pixels: skipped, as head-ct skips them
        return None
    slope = float(getattr(ds, "RescaleSlope", 1.0))
    intercept = float(getattr(ds, "RescaleIntercept", 0.0))
    hu = stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    grey = brain_window(hu)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        grey = 1.0 - grey
    position = None
    ipp = getattr(ds, "ImagePositionPatient", None)
    iop = getattr(ds, "ImageOrientationPatient", None)
    if ipp is not None and iop is not None:
        normal = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
        position = float(np.dot(normal, np.asarray(ipp, float)))
    key = (str(getattr(ds, "StudyInstanceUID", "")), str(getattr(ds, "SeriesInstanceUID", "")),
           position, str(getattr(ds, "SOPInstanceUID", "")))
    return grey, key


def to_input(greys):
    """A list of 2-D grey planes to a 3 x 150 x 150 batch (NCHW)."""
    planes = []
    for g in greys:
        t = torch.from_numpy(g)[None, None]
        if t.shape[-2:] != (SIDE, SIDE):
            t = F.interpolate(t, size=(SIDE, SIDE), mode="bilinear", antialias=True,
                              align_corners=False)
        planes.append(t)
    return torch.cat(planes).expand(-1, 3, -1, -1).contiguous()


class Files(torch.utils.data.Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return read_slice(self.paths[i])


def batches(paths):
    """Lists of up to BATCH read slices (None for unreadable files)."""
    if WORKERS == 0:
        for i in range(0, len(paths), BATCH):
            yield [read_slice(p) for p in paths[i:i + BATCH]]
    else:
        loader = torch.utils.data.DataLoader(Files(paths), batch_size=BATCH, num_workers=WORKERS,
                                             collate_fn=list)
        yield from loader


def main():
    roots = sys.argv[1:]
    if not roots:
        sys.exit("usage: study_torch.py FOLDER...")
    torch.set_num_threads(THREADS)
    torch.manual_seed(1)
    start = time.perf_counter()
    model = build_model().eval()
    paths = list(walk(roots))
    read_s = net_s = 0.0
    results, skipped = [], 0
    t = time.perf_counter()
    with torch.inference_mode():
        for batch in batches(paths):
            ok = [b for b in batch if b is not None]
            skipped += len(batch) - len(ok)
            if ok:
                x = to_input([g for g, _ in ok])
                t1 = time.perf_counter()
                read_s += t1 - t
                p = torch.sigmoid(model(x)).numpy().ravel()
                results += [(key, float(q)) for (_, key), q in zip(ok, p)]
                t = time.perf_counter()
                net_s += t - t1
    # Per study and series, in slice order (position, then SOPInstanceUID).
    results.sort(key=lambda r: (r[0][0], r[0][1], r[0][2] is None, r[0][2] or 0.0, r[0][3]))
    series = len({(k[0], k[1]) for k, _ in results})
    seconds = time.perf_counter() - start
    print(json.dumps({
        "stack": "pydicom+pytorch",
        "version": f"pydicom {pydicom.__version__}, torch {torch.__version__}",
        "threads": THREADS,
        "workers": WORKERS,
        "files": len(paths),
        "slices": len(results),
        "series": series,
        "skipped": skipped,
        "seconds": seconds,
        "slices_per_s": len(results) / seconds,
        "read_window_resize_s": read_s,
        "network_s": net_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
