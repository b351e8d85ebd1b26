"""An attached image: inline where the terminal shows images, a placeholder (name, type, size) elsewhere."""

import io

from textual.widget import Widget
from textual.widgets import Static

from herd.apps.chat.events import Attachment
from herd.apps.chat.images import describe


def attachment_view(attachment: Attachment, inline: bool) -> Widget:
    if inline:
        try:
            from PIL import Image as PILImage
            from textual_image.widget import Image

            return Image(PILImage.open(io.BytesIO(attachment.data)), classes="inline-image")
        except Exception:  # noqa: BLE001 - an image the terminal cannot draw falls back to its placeholder
            pass
    return Static(f"🖼  {describe(attachment)}", classes="image-placeholder", markup=False)
