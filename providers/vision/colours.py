"""Colours in words: which named colours cover an image, and how much of it."""

from typing import Any

# Coarse named colours: enough for "mostly red" or "white with some black", not for shades.
_PALETTE = {
    "black": (0, 0, 0),
    "dark grey": (64, 64, 64),
    "grey": (128, 128, 128),
    "light grey": (192, 192, 192),
    "white": (255, 255, 255),
    "red": (220, 30, 30),
    "dark red": (128, 0, 0),
    "orange": (255, 140, 0),
    "yellow": (250, 220, 30),
    "green": (30, 170, 30),
    "dark green": (0, 90, 0),
    "light green": (150, 230, 150),
    "cyan": (0, 200, 210),
    "light blue": (140, 200, 240),
    "blue": (30, 60, 220),
    "navy": (0, 0, 120),
    "purple": (130, 30, 160),
    "pink": (250, 120, 180),
    "brown": (130, 80, 30),
    "beige": (235, 215, 170),
}


def dominant_colours(rgb: Any, limit: int = 3) -> list[tuple[str, float]]:
    """Named colours covering at least 5% of the image, largest share first."""
    import numpy as np
    from PIL import Image

    # Nearest sampling keeps real pixel colours; smoothing would invent blends along every edge.
    pixels = np.asarray(rgb.resize((64, 64), Image.Resampling.NEAREST), dtype=np.int32).reshape(-1, 3)
    names = list(_PALETTE)
    palette = np.array([_PALETTE[name] for name in names], dtype=np.int32)
    nearest = ((pixels[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(names)) / len(nearest)
    order = counts.argsort()[::-1][:limit]
    return [(names[i], float(counts[i])) for i in order if counts[i] >= 0.05]


def colours_in_words(shares: list[tuple[str, float]]) -> str:
    if not shares:
        return "no dominant colour"
    (first, share), rest = shares[0], shares[1:]
    head = f"mostly {first}" if share >= 0.5 else f"largely {first}"
    return ", ".join([f"{head} ({share:.0%})", *(f"some {name} ({part:.0%})" for name, part in rest)])
