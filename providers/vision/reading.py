"""Text boxes into lines in reading order: top to bottom, and left to right within a line."""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    text: str
    confidence: float
    left: float
    top: float
    right: float
    bottom: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


def reading_lines(segments: list[Segment]) -> list[tuple[str, float]]:
    """One (text, lowest confidence) per visual line. Boxes far apart on a line (table cells) join with ' | '."""
    rows: list[list[Segment]] = []
    for segment in sorted(segments, key=lambda s: s.middle):
        row = rows[-1] if rows else None
        if row and abs(segment.middle - row[0].middle) < max(segment.height, row[0].height) / 2:
            row.append(segment)
        else:
            rows.append([segment])
    return [_join(sorted(row, key=lambda s: s.left)) for row in rows]


def _join(row: list[Segment]) -> tuple[str, float]:
    text = row[0].text
    for before, after in zip(row, row[1:], strict=False):
        gap = after.left - before.right
        text += (" | " if gap > 1.5 * max(before.height, after.height) else " ") + after.text
    return text, min(s.confidence for s in row)


def columns(segments: list[Segment]) -> list[list[Segment]]:
    """Texts stacked in vertical columns (chart bars with their values and labels, table columns).

    A box joins a column when its horizontal centre is within half its own width of the
    column's centre; boxes far wider than the median (titles, captions) stay out. Each
    column is listed top to bottom as "a / b / c" (or "label: value"), and only when the page has two or more
    columns of two or more boxes, which is where reading line by line loses the pairing.
    """
    if len(segments) < 4:
        return []
    widths = sorted(s.right - s.left for s in segments)
    median = widths[len(widths) // 2]
    groups: list[list[Segment]] = []
    for segment in sorted(segments, key=lambda s: s.left):
        width = segment.right - segment.left
        if width > 2.5 * median:
            continue
        centre = (segment.left + segment.right) / 2
        for group in groups:
            group_centre = sum((s.left + s.right) / 2 for s in group) / len(group)
            if abs(centre - group_centre) <= max(width, median) / 2:
                group.append(segment)
                break
        else:
            groups.append([segment])
    stacked = [sorted(g, key=lambda s: s.top) for g in groups if len(g) >= 2]
    if len(stacked) < 2:
        return []
    return stacked


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[$€£]?\d[\d,.]*%?", text.strip()))


def column_text(group: list[Segment]) -> str:
    """A column of one number and its labels reads "label: number" (a bar and its value); else "a / b"."""
    numbers = [s for s in group if _is_number(s.text)]
    if len(numbers) == 1 and len(group) > 1:
        labels = " ".join(s.text for s in group if s is not numbers[0])
        return f"{labels}: {numbers[0].text}"
    return " / ".join(s.text for s in group)
