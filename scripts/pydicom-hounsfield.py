#!/usr/bin/env python3
"""Read DICOM files with pydicom, another reader than head-ct's, and write their CT numbers.

    python scripts/pydicom-hounsfield.py FILE.dcm...

For each FILE.dcm writes FILE.dcm.hu.f32: the CT numbers (stored value x RescaleSlope +
RescaleIntercept, pydicom's `apply_modality_lut`) as little-endian float32, row by row. The
ignored test `pydicom_reads_the_same_hounsfield_units` (tests/all/ct_dicom.rs) compares them with
what head-ct reads; it needs a Python with pydicom and numpy:

    python3 -m venv .venv && .venv/bin/pip install pydicom numpy
    PYDICOM_PYTHON=.venv/bin/python cargo test --test all -- --ignored pydicom
"""

import sys

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

for name in sys.argv[1:]:
    ds = pydicom.dcmread(name)
    hu = apply_modality_lut(ds.pixel_array, ds).astype("<f4")
    hu.tofile(name + ".hu.f32")
    print(f"{name}: {ds.Rows}x{ds.Columns}, {ds.Modality}, HU {hu.min():.0f} to {hu.max():.0f}")
