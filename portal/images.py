"""Uploaded images re-encoded from their pixels with Pillow (pure: no Flask, no database).

What a phone sends carries EXIF metadata (often the GPS position of the resident's home);
what a script sends may be a polyglot (an image that is also HTML, a ZIP or a script). Both
are answered the same way: decode the pixels, refuse anything that does not decode cleanly,
is too large or has bytes after the image's end, and write a brand-new file from the pixels
alone. A thumbnail is made at the same time for listing pages.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# 24 megapixels: every phone's default photo size, and ~100 MB of RGBA at most while decoding.
MAX_PIXELS = 24_000_000
MAX_SIDE = 2560  # stored photos are scaled down to this; nobody needs more on a web page
THUMB_SIDE = 320
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


class ImageError(Exception):
    """A refused image; code is "type" (not a clean JPEG/PNG/WebP) or "pixels" (too large)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CleanImage:
    content_type: str
    extension: str
    data: bytes
    thumbnail: bytes
    width: int
    height: int


def _format_of(data):
    """JPEG, PNG or WEBP by signature, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _has_trailing_data(data, kind):
    """Bytes after the image's own end are how polyglots hide a second file."""
    if kind == "PNG":
        return not data.endswith(b"IEND\xaeB`\x82")
    if kind == "JPEG":
        return not data.endswith(b"\xff\xd9")
    size = int.from_bytes(data[4:8], "little") + 8
    return len(data) not in (size, size + (size & 1))


def _encode(image, kind):
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85)
    elif kind == "PNG":
        image.save(out, "PNG", compress_level=6)  # optimize=True costs seconds for little
    else:
        image.save(out, "WEBP", quality=85)
    return out.getvalue()


def clean_image(data, *, max_pixels=MAX_PIXELS):
    """Decode, check and re-encode `data`; raise ImageError when it is refused."""
    kind = _format_of(data)
    if kind is None or _has_trailing_data(data, kind):
        raise ImageError("type")
    try:
        with warnings.catch_warnings():
            # We check the pixel count ourselves, below Pillow's warning threshold.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data), formats=[kind])
        with source:
            width, height = source.size
            if width * height > max_pixels or width < 1 or height < 1:
                raise ImageError("pixels")
            if kind == "JPEG":
                # Decode big JPEGs at 1/2, 1/4 or 1/8 scale straight away: far less work and
                # memory, and the stored photo is scaled to MAX_SIDE anyway.
                source.draft("RGB", (MAX_SIDE, MAX_SIDE))
            source.load()
            upright = ImageOps.exif_transpose(source)  # keep the picture the right way up
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError("pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError("type") from None
    mode = "RGBA" if upright.mode in ("RGBA", "LA", "P", "PA") and kind != "JPEG" else "RGB"
    converted = upright.convert(mode)
    # A new image from the pixels alone: no EXIF, XMP, ICC, text chunks or comments survive.
    pixels = Image.frombytes(mode, converted.size, converted.tobytes())
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    thumb = pixels.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    content_type, extension = FORMATS[kind]
    return CleanImage(
        content_type=content_type,
        extension=extension,
        data=_encode(pixels, kind),
        thumbnail=_encode(thumb, kind),
        width=pixels.width,
        height=pixels.height,
    )
