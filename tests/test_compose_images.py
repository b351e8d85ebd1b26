"""The composed model's image plumbing, and how OCR boxes stacked in columns are read."""

from typing import Any

from herd.providers.compose.images import describe_report, image_turns, replace_images
from herd.providers.vision.base import VisionReport
from herd.providers.vision.reading import Segment, column_text, columns, reading_lines

PNG = "data:image/png;base64,iVBORw0KGgo="
MP4 = "data:video/mp4;base64,AAAAIGZ0eXA="
OCR = VisionReport(text="image 1: a bar chart", stage="ocr", sees_images=False, notes=["text read by OCR"])
MODEL = VisionReport(text="A red square.", stage="openai:llava", sees_images=True)


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def image(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def test_image_turns_finds_image_and_file_parts_in_user_messages_only() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": [text("sys"), image(PNG)]},
        {"role": "user", "content": [text("What is"), image(PNG), text("this?")]},
        {"role": "assistant", "content": [image(PNG)]},
        {"role": "user", "content": "plain text, no parts"},
        {"role": "user", "content": [text("only words")]},
        {
            "role": "user",
            "content": [
                {"type": "file", "file": {"file_data": MP4}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
                {"type": "image_url", "image_url": "https://example.com/a.png"},
            ],
        },
    ]
    turns = image_turns(messages)
    assert [(t.index, t.question, t.urls) for t in turns] == [
        (1, "What is this?", [PNG]),
        (5, "", [MP4, "https://example.com/a.png"]),
    ]


def test_replace_images_keeps_the_text_and_puts_the_report_where_the_images_were() -> None:
    message = {"role": "user", "name": "ana", "content": [text("Which bar"), image(PNG), text("is tallest?")]}
    replaced = replace_images(message, OCR)
    assert replaced["role"] == "user" and replaced["name"] == "ana"
    assert replaced["content"] == f"{describe_report(OCR)}\n\nWhich bar\nis tallest?"
    assert "image_url" not in str(replaced) and PNG not in str(replaced)
    assert message["content"][1] == image(PNG)  # the original is left alone


def test_replace_images_without_text_is_the_report_alone() -> None:
    assert replace_images({"role": "user", "content": [image(PNG)]}, MODEL)["content"] == describe_report(MODEL)


def test_the_report_says_whether_a_model_saw_the_images() -> None:
    assert describe_report(OCR).splitlines() == [
        "[The attached images were read by the vision stage `ocr`, using OCR and image metadata only "
        "(no vision model saw the image).]",
        "[Note: text read by OCR]",
        "image 1: a bar chart",
    ]
    assert describe_report(MODEL).splitlines() == [
        "[The attached images were read by the vision stage `openai:llava`, using a vision model.]",
        "A red square.",
    ]


# -- columns ------------------------------------------------------------------------------------


def box(label: str, left: float, top: float, width: float = 30, height: float = 14) -> Segment:
    return Segment(label, 0.9, left, top, left + width, top + height)


TITLE = box("Quarterly revenue by region, 2024", 10, 10, width=390)
CHART = [
    TITLE,
    box("120", 55, 100),
    box("North", 45, 300, width=50),
    box("95", 160, 160, width=20),
    box("South", 145, 300, width=50),
    box("143", 255, 80),
    box("East", 250, 300, width=40),
]


def test_columns_group_stacked_boxes_left_to_right_top_to_bottom_without_the_title() -> None:
    groups = columns(list(reversed(CHART)))
    assert [[s.text for s in group] for group in groups] == [["120", "North"], ["95", "South"], ["143", "East"]]
    assert [column_text(group) for group in groups] == ["North: 120", "South: 95", "East: 143"]


def test_boxes_beside_a_column_start_their_own() -> None:
    off_centre = [box("a", 0, 0), box("b", 0, 40), box("c", 60, 0), box("d", 60, 40), box("lone", 200, 0)]
    assert [[s.text for s in g] for g in columns(off_centre)] == [["a", "b"], ["c", "d"]]


def test_fewer_than_two_columns_is_no_columns() -> None:
    one_stack = [box("a", 0, 0), box("b", 0, 40), box("c", 100, 0), box("d", 200, 0)]
    assert columns(one_stack) == []
    assert columns(CHART[:3]) == []  # under four boxes
    assert columns([box("w", i * 100, 0) for i in range(6)]) == []  # a line of words, nothing stacked


def test_column_text_pairs_one_number_with_its_labels_else_lists_them() -> None:
    assert column_text([box("$1,200", 0, 0), box("Q1", 0, 20), box("sales", 0, 40)]) == "Q1 sales: $1,200"
    assert column_text([box("Share", 0, 0), box("45%", 0, 20)]) == "Share: 45%"
    assert column_text([box("12", 0, 0), box("13", 0, 20)]) == "12 / 13"
    assert column_text([box("Name", 0, 0), box("Ana", 0, 20)]) == "Name / Ana"


def test_reading_lines_join_a_row_and_mark_distant_cells() -> None:
    row = [box("Total", 0, 0), box("due", 35, 1), box("42", 200, 0)]
    assert reading_lines([box("Header", 0, -40), *row]) == [("Header", 0.9), ("Total due | 42", 0.9)]
