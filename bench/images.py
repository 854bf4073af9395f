"""What re-encoding an uploaded photo costs: portal.images.clean_image (decode, check, strip
metadata, scale to 2560 px, re-encode, thumbnail) against the old path, which only sniffed the
signature and wrote the bytes. Prints milliseconds per photo; not a test.

    .venv/bin/python bench/images.py [--runs 5]
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import images  # noqa: E402
from portal.budgeting.services import sniff_image  # noqa: E402


def photo(width, height, kind):
    """A photo-like image (smooth gradients plus noise, so it compresses like a real one)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], -1)
    noise = rng.integers(-12, 12, size=base.shape)
    pixels = np.clip(base + noise, 0, 255).astype("uint8")
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.fromarray(pixels, "RGB").save(out, kind, quality=90, exif=exif)
    return out.getvalue()


def timed(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [(1600, 1200, "JPEG"), (4000, 3000, "JPEG"), (2000, 1500, "PNG")]
    with tempfile.TemporaryDirectory() as work:
        target = Path(work) / "photo"
        print(f"{'photo':<22}{'bytes':>10}{'old: sniff+write ms':>22}{'new: re-encode ms':>20}")
        for width, height, kind in sizes:
            data = photo(width, height, kind)
            old_ms = timed(lambda data=data: old_path(data, target), args.runs)
            new_ms = timed(lambda data=data: new_path(data, target), args.runs)
            label = f"{width}x{height} {kind}"
            print(f"{label:<22}{len(data):>10}{old_ms:>22.1f}{new_ms:>20.1f}")


def old_path(data, target):
    assert sniff_image(data)
    target.write_bytes(data)


def new_path(data, target):
    clean = images.clean_image(data)
    target.write_bytes(clean.data)
    target.with_suffix(".thumb").write_bytes(clean.thumbnail)


if __name__ == "__main__":
    main()
