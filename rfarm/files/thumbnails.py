"""A small JPEG of a rendered image: PNG, JPEG and TIFF through Pillow, OpenEXR tone-mapped.

Display-referred images (8- and 16-bit PNG, JPEG, TIFF) are only scaled
down. Scene-referred ones (OpenEXR, float TIFF) hold linear light of any
range, so they are exposed from their own statistics (the log-average
luminance is brought to middle grey), rolled off with an extended Reinhard
curve whose white point is the image's brightest percentile, and encoded to
sRGB: a sunlit exterior and a dim interior both come out readable, neither
blown out white nor black. NaN pixels count as black, infinite ones as the
brightest.

Large images are averaged down by whole blocks first (cheap in numpy, and
it is what keeps a thumbnail's cost a small part of a render's), then Pillow
resamples the rest of the way.

A node stores each frame's thumbnail beside its results
(:func:`store_thumbnail`), named by its MD5, with a small record that names
that MD5 or says why the frame has none; :func:`load_thumbnail` reads it back.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from rfarm.errors import NotFoundError, StorageError, UsageError
from rfarm.storage.base import Storage
from rfarm.storage.keys import thumbnail_key

#: the longest side of a thumbnail, in pixels
MAX_SIDE = 320
QUALITY = 82
#: the files a frame's output may be made a thumbnail of
SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr"})
#: what transparent pixels are shown over (sRGB, a dark neutral grey)
BACKGROUND = (40, 40, 40)
#: the most pixels an image may have (Pillow's own bound on what it decodes)
MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)

_EXR_MAGIC = b"\x76\x2f\x31\x01"
_MIDDLE_GREY = 0.18
_REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
_HALF_MAX = 65504.0


def is_image(path: Path) -> bool:
    """Whether ``path`` is named like an image a thumbnail can be made of."""
    return path.suffix.lower() in SUFFIXES


def make_thumbnail(path: Path, *, max_side: int = MAX_SIDE) -> bytes:
    """A JPEG of the image at ``path``, at most ``max_side`` pixels on its long side, its aspect kept.

    Raises:
        NotFoundError: ``path`` does not exist.
        UsageError: the file is not an image this reads (unknown format, damaged, truncated, or with
            no colour or luminance channel).
    """
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise NotFoundError(f"cannot make a thumbnail of {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"cannot make a thumbnail of {path}: {exc.strerror or exc}") from None
    image = _read_exr(path, max_side) if magic == _EXR_MAGIC else _read_pillow(path, max_side)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ThumbnailRecord:
    """What was made of one attempt at a frame: the thumbnail's MD5, or the error why there is none.

    ``source`` is the file name of the output it shows; ``seconds`` what making and storing it took.
    """

    frame: int
    attempt: int
    md5: str | None
    source: str
    seconds: float
    error: str | None = None


def store_thumbnail(storage: Storage, task_id: int, frame: int, attempt: int, files: Sequence[Path]) -> ThumbnailRecord:
    """Make the thumbnail of the first image among a frame's ``files`` and store it with its record.

    A file that cannot be made into a thumbnail (or no image among the files)
    is recorded as the record's ``error``; the thumbnail of an earlier attempt
    is removed once the new record is stored.

    Raises:
        StorageError: storage failed (nothing is recorded then).
    """
    started = time.perf_counter()
    image = next((p for p in files if is_image(p)), None)
    md5: str | None = None
    error: str | None = None
    if image is None:
        names = ", ".join(p.name for p in files) or "none"
        error = f"none of the frame's outputs is a PNG, JPEG, TIFF or EXR image ({names})"
    else:
        try:
            data = make_thumbnail(image)
        except UsageError as exc:
            error = str(exc)
        else:
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            storage.put_bytes(thumbnail_key(task_id, frame, md5), data)
    earlier = _read_record(storage, task_id, frame) if attempt > 1 else None
    record = ThumbnailRecord(frame, attempt, md5, image.name if image else "", time.perf_counter() - started, error)
    storage.put_bytes(thumbnail_key(task_id, frame), json.dumps(asdict(record)).encode("utf-8"))
    if earlier is not None and earlier.md5 and earlier.md5 != md5:
        storage.delete(thumbnail_key(task_id, frame, earlier.md5))
    return record


def load_thumbnail(storage: Storage, task_id: int, frame: int) -> tuple[bytes | None, ThumbnailRecord | None]:
    """A frame's thumbnail and its record; ``(None, record)`` when the record says why there is none,
    ``(None, None)`` when none was made."""
    record = _read_record(storage, task_id, frame)
    if record is None or record.md5 is None:
        return None, record
    try:
        return storage.get_bytes(thumbnail_key(task_id, frame, record.md5)), record
    except NotFoundError:
        return None, None


def _read_record(storage: Storage, task_id: int, frame: int) -> ThumbnailRecord | None:
    key = thumbnail_key(task_id, frame)
    try:
        doc = json.loads(storage.get_bytes(key))
        md5 = None if doc["md5"] is None else str(doc["md5"])
        if md5 is not None:
            thumbnail_key(task_id, frame, md5)  # an MD5 that names no key: a damaged record
        return ThumbnailRecord(int(doc["frame"]), int(doc["attempt"]), md5, str(doc["source"]),
                               float(doc["seconds"]), None if doc.get("error") is None else str(doc["error"]))
    except NotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UsageError) as exc:
        raise StorageError(f"The thumbnail record {key} is unreadable: {exc}.") from exc


# -- display-referred images ------------------------------------------------------


def _read_pillow(path: Path, max_side: int) -> Image.Image:
    """The image as 8-bit RGB, already reduced near ``max_side`` where the format allows it."""
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise UsageError(f"cannot make a thumbnail of {path}: {im.width}x{im.height} is too large")
            im.draft("RGB", (max_side, max_side))  # JPEG: decoded at 1/2, 1/4 or 1/8 scale
            im.load()
            return _to_rgb(im, max_side)
    except UsageError:
        raise
    except Image.DecompressionBombError as exc:
        raise UsageError(f"cannot make a thumbnail of {path}: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        # UnidentifiedImageError is an OSError; damaged PNG chunks raise SyntaxError
        raise UsageError(f"cannot make a thumbnail of {path}: not a readable PNG, JPEG or TIFF image ({exc})") from None


def _to_rgb(im: Image.Image, max_side: int) -> Image.Image:
    if im.mode == "F":  # a float TIFF: scene-referred, like an EXR
        return _tone_map(np.array(im, dtype=np.float32)[..., None], None, max_side)
    if im.mode.startswith("I"):  # 16- or 32-bit integer grey: scaled to its type's range
        pixels = np.asarray(im)
        top = 65535.0 if im.mode.startswith("I;16") or pixels.max(initial=0) <= 65535 else float(pixels.max())
        return Image.fromarray((np.clip(pixels / top, 0, 1) * 255 + 0.5).astype(np.uint8)).convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    if not has_alpha:
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    rgba.thumbnail((max_side * 2, max_side * 2), Image.Resampling.BOX)
    background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


# -- scene-referred images --------------------------------------------------------


def _read_exr(path: Path, max_side: int) -> Image.Image:
    import OpenEXR

    try:
        header = OpenEXR.File(str(path), header_only=True).header()
        low, high = header["dataWindow"]
        width, height = int(high[0] - low[0] + 1), int(high[1] - low[1] + 1)
        if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
            raise UsageError(f"cannot make a thumbnail of {path}: a {width}x{height} image")
        part = OpenEXR.File(str(path), separate_channels=True).parts[0]
        channels = {name: ch.pixels for name, ch in part.channels.items()}
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the bindings raise bare RuntimeErrors and more for a damaged file
        raise UsageError(f"cannot make a thumbnail of {path}: not a readable OpenEXR image ({exc})") from None
    colour, alpha = _pick_channels(path, channels)
    return _tone_map(colour, alpha, max_side)


def _pick_channels(path: Path, channels: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour (H, W, 3) or luminance (H, W, 1) planes and alpha of the image's main layer.

    A plain file has ``R``, ``G``, ``B`` (or ``Y``); a multilayer one (Blender's)
    names them ``ViewLayer.Combined.R``: the unnamed layer wins, then one
    called Combined, then the first in name order.
    """
    layers: dict[str, dict[str, np.ndarray]] = {}
    for name, pixels in channels.items():
        layer, _, suffix = name.rpartition(".")
        if pixels is not None and pixels.ndim == 2:
            layers.setdefault(layer, {})[suffix.upper()] = pixels

    def rank(layer: str) -> tuple[int, str]:
        return (0 if layer == "" else 1 if layer.rpartition(".")[2].lower() == "combined" else 2, layer)

    for wanted in (("R", "G", "B"), ("Y",)):
        found = sorted((layer for layer, planes in layers.items() if all(c in planes for c in wanted)), key=rank)
        if found:
            planes = layers[found[0]]
            shapes = {planes[c].shape for c in (*wanted, "A") if c in planes}
            if len(shapes) != 1:
                raise UsageError(f"cannot make a thumbnail of {path}: its channels are sampled at different sizes")
            colour = np.empty((*shapes.pop(), len(wanted)), dtype=np.float32)
            for i, c in enumerate(wanted):
                colour[..., i] = planes[c]
            alpha = planes["A"].astype(np.float32)[..., None] if "A" in planes else None
            return colour, alpha
    names = ", ".join(sorted(channels)[:8]) or "none"
    raise UsageError(f"cannot make a thumbnail of {path}: no R, G, B or Y channels (it has {names})")


def _tone_map(colour: np.ndarray, alpha: np.ndarray | None, max_side: int) -> Image.Image:
    """Linear light (H, W, C) float32 with C 3 or 1, and premultiplied alpha (H, W, 1), to an sRGB image.

    Both arrays are changed in place.
    """
    np.fmax(colour, 0.0, out=colour)  # fmax drops NaN: NaN and negative pixels become black
    np.fmin(colour, _HALF_MAX, out=colour)
    longest = max(colour.shape[:2])
    factor = max(1, min(math.ceil(longest / (2 * max_side)), longest // max_side))
    colour = _block_mean(colour, factor)
    if alpha is not None:
        np.fmin(np.fmax(alpha, 0.0, out=alpha), 1.0, out=alpha)
        alpha = _block_mean(alpha, factor)
    lum = colour @ _REC709 if colour.shape[-1] == 3 else colour[..., 0]
    lit = lum[lum > max(float(lum.max(initial=0.0)), 1e-30) * 1e-6]
    if lit.size:
        exposure = _MIDDLE_GREY / math.exp(float(np.mean(np.log(lit))))
        white = max(1.0, float(np.percentile(lit, 99.5)) * exposure)
    else:
        exposure, white = 1.0, 1.0  # all black
    exposed = colour * np.float32(exposure)
    mapped = exposed * (1.0 + exposed / np.float32(white * white)) / (1.0 + exposed)
    encoded = _SRGB[(np.clip(mapped, 0.0, 1.0) * np.float32(_SRGB.size - 1) + np.float32(0.5)).astype(np.intp)]
    if encoded.shape[-1] == 1:
        encoded = np.repeat(encoded, 3, axis=-1)
    if alpha is not None:  # premultiplied: what is not covered shows the background
        encoded = encoded + (1.0 - alpha) * (np.array(BACKGROUND, dtype=np.float32) / 255.0)
    return Image.fromarray((np.clip(encoded, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")


def _block_mean(pixels: np.ndarray, factor: int) -> np.ndarray:
    """``pixels`` (H, W, C) averaged over ``factor`` x ``factor`` blocks (a ragged edge is dropped).

    Rows are summed first, whole rows at a time, then neighbouring columns: both walk memory in
    order, several times faster than one mean over reshaped axes.
    """
    if factor == 1:
        return pixels
    h, w, c = pixels.shape[0] // factor, pixels.shape[1] // factor, pixels.shape[2]
    rows = pixels[0 : h * factor : factor, : w * factor].copy()
    for i in range(1, factor):
        rows += pixels[i : h * factor : factor, : w * factor]
    total = rows.reshape(h, w, factor, c).sum(axis=2, dtype=np.float32)
    total *= np.float32(1.0 / (factor * factor))
    return total


def _srgb_table(size: int) -> np.ndarray:
    """The sRGB encoding of ``size`` evenly spaced linear values in [0, 1] (a look-up is far cheaper than
    the power function per pixel; 4096 steps leave no visible banding in 8 bits)."""
    linear = np.linspace(0.0, 1.0, size, dtype=np.float64)
    encoded = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
    return encoded.astype(np.float32)


_SRGB = _srgb_table(4096)
