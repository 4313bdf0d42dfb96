"""Thumbnails of real images of each format; HDR tone mapping; damaged and unsupported files."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from PIL import Image

from rfarm.errors import NotFoundError, StorageError, UsageError
from rfarm.files.thumbnails import BACKGROUND, MAX_SIDE, is_image, load_thumbnail, make_thumbnail, store_thumbnail
from rfarm.storage.folder import FolderStorage
from rfarm.storage.keys import thumbnail_key


def decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    return np.asarray(image).astype(np.float64)


def gradient(width: int, height: int) -> np.ndarray:
    """A linear-light test picture (H, W, 3): a warm ramp left to right over a dim floor, values 0.02 to 1.02."""
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    tint = np.array([1.0, 0.8, 0.6], dtype=np.float32)
    return np.broadcast_to(ramp * tint + 0.02, (height, width, 3)).copy()


def write_exr(path: Path, channels: dict[str, np.ndarray]) -> Path:
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))
    return path


def rgb_channels(rgb: np.ndarray, dtype: str = "float32", prefix: str = "") -> dict[str, np.ndarray]:
    return {f"{prefix}{c}": np.ascontiguousarray(rgb[..., i]).astype(dtype) for i, c in enumerate("RGB")}


def test_png_keeps_aspect_and_fits_the_long_side(tmp_path: Path) -> None:
    pixels = np.zeros((300, 1000, 3), dtype=np.uint8)
    pixels[:, :500] = (200, 30, 30)
    pixels[:, 500:] = (30, 30, 200)
    Image.fromarray(pixels).save(tmp_path / "f.png")

    out = decode(make_thumbnail(tmp_path / "f.png"))

    assert out.shape == (96, MAX_SIDE, 3)
    assert np.allclose(out[48, 40], (200, 30, 30), atol=12)
    assert np.allclose(out[48, 280], (30, 30, 200), atol=12)


def test_a_small_image_is_not_enlarged(tmp_path: Path) -> None:
    Image.new("RGB", (120, 80), (10, 200, 10)).save(tmp_path / "f.png")

    out = decode(make_thumbnail(tmp_path / "f.png"))

    assert out.shape == (80, 120, 3)
    assert np.allclose(out.mean(axis=(0, 1)), (10, 200, 10), atol=6)


def test_jpeg_portrait(tmp_path: Path) -> None:
    Image.new("RGB", (1080, 1920), (240, 200, 20)).save(tmp_path / "f.jpg", quality=90)

    out = decode(make_thumbnail(tmp_path / "f.jpg"))

    assert out.shape == (MAX_SIDE, 180, 3)
    assert np.allclose(out.mean(axis=(0, 1)), (240, 200, 20), atol=8)


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16"])
def test_tiff_8_and_16_bit(tmp_path: Path, mode: str) -> None:
    if mode == "I;16":
        image = Image.fromarray(np.full((200, 400), 32768, dtype=np.uint16))  # half of the 16-bit range
        expected = 128.0
    else:
        image = Image.new(mode, (400, 200), (128, 128, 128) if mode == "RGB" else 128)
        expected = 128.0
    image.save(tmp_path / "f.tif", compression="tiff_lzw")

    out = decode(make_thumbnail(tmp_path / "f.tif"))

    assert out.shape == (160, MAX_SIDE, 3)
    assert abs(out.mean() - expected) < 4


def test_transparent_png_shows_the_background(tmp_path: Path) -> None:
    pixels = np.zeros((100, 100, 4), dtype=np.uint8)
    pixels[:, 50:] = (250, 250, 250, 255)  # right half opaque white, left half fully transparent
    Image.fromarray(pixels, "RGBA").save(tmp_path / "f.png")

    out = decode(make_thumbnail(tmp_path / "f.png"))

    assert np.allclose(out[50, 10], BACKGROUND, atol=6)
    assert np.allclose(out[50, 90], (250, 250, 250), atol=6)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("scale", [2000.0, 1.0, 0.0005], ids=["bright", "normal", "dark"])
def test_exr_is_tone_mapped_into_a_readable_range(tmp_path: Path, dtype: str, scale: float) -> None:
    """Sunlight in the thousands, an ordinary render and a dim one all land near mid-grey, the ramp kept."""
    path = write_exr(tmp_path / "f.exr", rgb_channels(gradient(640, 360) * scale, dtype))

    out = decode(make_thumbnail(path))

    assert out.shape == (180, MAX_SIDE, 3)
    assert 60 < out.mean() < 190, "neither blown out nor black"
    assert (out >= 250).mean() < 0.05, "almost nothing clips to white"
    left, right = out[:, :40].mean(), out[:, -40:].mean()
    assert right - left > 80, "the ramp still rises left to right"
    red, blue = out[:, -40:, 0].mean(), out[:, -40:, 2].mean()
    assert red > blue + 20, "the warm tint is kept"


def test_exr_with_alpha_and_luminance_only(tmp_path: Path) -> None:
    rgb = gradient(200, 100)
    alpha = np.ones((100, 200), dtype=np.float32)
    alpha[:, :100] = 0.0
    rgb[:, :100] = 0.0  # premultiplied: nothing where nothing is covered
    with_alpha = write_exr(tmp_path / "a.exr", {**rgb_channels(rgb, "float16"), "A": alpha})
    grey = write_exr(tmp_path / "y.exr", {"Y": np.ascontiguousarray(gradient(200, 100)[..., 1])})

    out = decode(make_thumbnail(with_alpha))
    assert np.allclose(out[50, 20], BACKGROUND, atol=6)
    assert out[50, 190].mean() > 120

    out = decode(make_thumbnail(grey))
    assert out.shape == (100, 200, 3)
    assert np.allclose(out[..., 0], out[..., 2], atol=6), "luminance comes out grey"
    assert out[:, -20:].mean() > out[:, :20].mean() + 80


def test_multilayer_exr_uses_the_combined_pass(tmp_path: Path) -> None:
    """Blender's multilayer files name channels ``ViewLayer.Combined.R``; a data pass beside it is ignored."""
    combined = rgb_channels(gradient(320, 160), prefix="ViewLayer.Combined.")
    depth = {"ViewLayer.Depth.Z": np.full((160, 320), 1e9, dtype=np.float32)}
    normals = rgb_channels(np.full((160, 320, 3), -1.0, dtype=np.float32), prefix="ViewLayer.Normal.")

    out = decode(make_thumbnail(write_exr(tmp_path / "m.exr", {**combined, **depth, **normals})))

    assert out[:, -20:].mean() > out[:, :20].mean() + 80


def test_a_sun_in_the_frame_neither_darkens_the_rest_nor_is_lost(tmp_path: Path) -> None:
    rgb = gradient(640, 360)
    rgb[20:40, 20:40] = 50_000.0  # a sun disc, many stops over the scene

    out = decode(make_thumbnail(write_exr(tmp_path / "s.exr", rgb_channels(rgb))))

    assert out[15, 15].min() > 240, "the sun is white"
    assert 60 < out[60:].mean() < 190
    assert out[60:, -20:].mean() > out[60:, :20].mean() + 80


def test_nan_and_infinite_pixels_do_not_spoil_the_image(tmp_path: Path) -> None:
    rgb = gradient(400, 200)
    rgb[10:20, 10:20] = np.nan
    rgb[30:32, 30:32] = np.inf
    rgb[50:60, 50:60] = -np.inf
    rgb[70:80, 70:80] = -5.0

    out = decode(make_thumbnail(write_exr(tmp_path / "n.exr", rgb_channels(rgb))))

    assert np.isfinite(out).all()
    assert 60 < out.mean() < 190
    assert out[:, -20:].mean() > out[:, :20].mean() + 80


def test_black_exr_is_black(tmp_path: Path) -> None:
    out = decode(make_thumbnail(write_exr(tmp_path / "b.exr", rgb_channels(np.zeros((50, 80, 3))))))

    assert out.max() <= 3


def test_float_tiff_is_tone_mapped_like_an_exr(tmp_path: Path) -> None:
    Image.fromarray(gradient(400, 200)[..., 1] * 5000.0, "F").save(tmp_path / "f.tif")

    out = decode(make_thumbnail(tmp_path / "f.tif"))

    assert 60 < out.mean() < 190


@pytest.mark.parametrize("content", [
    b"",
    b"not an image at all\n" * 10,
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature, then nothing valid
    b"\x76\x2f\x31\x01" + b"\x02\x00\x00\x00" + b"junk" * 20,  # an EXR magic number, then garbage
], ids=["empty", "text", "bad-png", "bad-exr"])
def test_damaged_or_unknown_files_raise_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "frame.png"
    path.write_bytes(content)

    with pytest.raises(UsageError, match=r"cannot make a thumbnail of .*frame\.png"):
        make_thumbnail(path)


def test_truncated_png_raises_usage_error(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])

    with pytest.raises(UsageError, match="cut.png"):
        make_thumbnail(tmp_path / "cut.png")


def test_exr_without_colour_channels_is_refused(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "z.exr", {"Z": np.ones((10, 10), dtype=np.float32)})

    with pytest.raises(UsageError, match=r"no R, G, B or Y channels \(it has Z\)"):
        make_thumbnail(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        make_thumbnail(tmp_path / "gone.exr")


def test_is_image() -> None:
    assert is_image(Path("/r/f.0001.EXR")) and is_image(Path("f.tiff")) and is_image(Path("f.jpeg"))
    assert not is_image(Path("f.mov")) and not is_image(Path("f"))


# -- stored beside the results ------------------------------------------------------


def test_stored_thumbnail_is_named_by_its_hash_and_replaced_by_a_retry(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path / "store")
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (64, 32), (200, 0, 0)).save(first)
    Image.new("RGB", (64, 32), (0, 0, 200)).save(second)

    made = store_thumbnail(storage, 7, 3, 1, [tmp_path / "f.mov", first])
    data, record = load_thumbnail(storage, 7, 3)

    assert record == made and made.error is None and made.source == "a.png" and made.attempt == 1
    assert data is not None and hashlib.md5(data).hexdigest() == made.md5
    assert decode(data).shape == (32, 64, 3)
    assert thumbnail_key(7, 3, made.md5) == f"tasks/7/thumbnails/frame-3-{made.md5}.jpg"

    again = store_thumbnail(storage, 7, 3, 2, [second])
    data, record = load_thumbnail(storage, 7, 3)
    assert record == again and again.md5 != made.md5 and data is not None
    assert hashlib.md5(data).hexdigest() == again.md5
    assert list(storage.list("tasks/7/thumbnails/")) == sorted(
        [thumbnail_key(7, 3), thumbnail_key(7, 3, again.md5)]), "the first attempt's thumbnail is gone"


def test_a_frame_without_a_readable_image_records_why(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path / "store")
    (tmp_path / "f.png").write_bytes(b"garbage")

    made = store_thumbnail(storage, 1, 1, 1, [tmp_path / "f.png"])
    assert made.md5 is None and made.error is not None and "f.png" in made.error
    assert load_thumbnail(storage, 1, 1) == (None, made)

    made = store_thumbnail(storage, 1, 2, 1, [tmp_path / "f.mov"])
    assert made.error == "none of the frame's outputs is a PNG, JPEG, TIFF or EXR image (f.mov)"
    assert load_thumbnail(storage, 1, 3) == (None, None)


def test_a_damaged_record_is_a_storage_error(tmp_path: Path) -> None:
    storage = FolderStorage(tmp_path / "store")
    storage.put_bytes(thumbnail_key(1, 1), b'{"frame": 1, "attempt": 1, "md5": "../../x", "source": "", "seconds": 0}')

    with pytest.raises(StorageError, match="thumbnail record tasks/1/thumbnails/frame-1.json is unreadable"):
        load_thumbnail(storage, 1, 1)
