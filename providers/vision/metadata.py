"""What Pillow can tell about an image without seeing it: format, size, colours in words, EXIF."""

import io
from typing import Any

from herd.errors import InvalidRequest

from .colours import colours_in_words, dominant_colours

_EXIF_DATE, _EXIF_ORIGINAL_DATE, _EXIF_MAKE, _EXIF_MODEL, _EXIF_IFD = 0x0132, 0x9003, 0x010F, 0x0110, 0x8769


def open_image(data: bytes, label: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidRequest(
            f"{label} could not be decoded as an image ({exc}); send PNG, JPEG, GIF, WebP or BMP"
        ) from exc
    return image


def as_rgb(image: Any) -> Any:
    """RGB with transparency laid over white, as a viewer would show it."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def describe_metadata(image: Any) -> str:
    rgb = as_rgb(image)
    parts = [f"{image.format or 'unknown format'}, {image.width}x{image.height} pixels, mode {image.mode}"]
    if getattr(image, "n_frames", 1) > 1:
        parts.append(f"{image.n_frames} animation frames (first shown)")
    parts.append(colours_in_words(dominant_colours(rgb)))
    parts.extend(_exif_words(image))
    return "; ".join(parts)


def _exif_words(image: Any) -> list[str]:
    exif = image.getexif()
    # The date a photo was taken lives in the Exif sub-IFD; the top-level date is when the file last changed.
    tags = {**dict(exif), **dict(exif.get_ifd(_EXIF_IFD))}
    words = []
    date = str(tags.get(_EXIF_ORIGINAL_DATE) or tags.get(_EXIF_DATE) or "").strip("\x00 ")
    if date:
        words.append(f"taken {date}")
    make, model = (str(tags.get(tag) or "").strip("\x00 ") for tag in (_EXIF_MAKE, _EXIF_MODEL))
    camera = model if model.lower().startswith(make.lower()) else f"{make} {model}".strip()
    if camera:
        words.append(f"camera {camera}")
    return words
