"""Sphinx extension: every image of the book has an alternative text a screen reader can say.

Figures glued from notebooks and plots in cell outputs reach the HTML writer without ``alt``, and
the writer then uses the image's file path. This post-transform gives an image inside a figure the
first sentence of the figure's caption, and any other image without one a plain description.
"""
from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform


def _first_sentence(text: str, limit: int = 160) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[:limit - 1].rstrip() + "…"


class ImageAltText(SphinxPostTransform):
    """Fill in a missing or path-like ``alt`` of every image."""
    default_priority = 400
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            alt = image.get("alt", "")
            if alt and alt != image.get("uri") and not re.search(r"\.(png|jpe?g|svg|gif)$", alt):
                continue
            figure = image.parent
            while figure is not None and not isinstance(figure, nodes.figure):
                figure = figure.parent
            caption = next(iter(figure.findall(nodes.caption)), None) if figure is not None else None
            image["alt"] = (_first_sentence(caption.astext()) if caption is not None
                            else "A figure computed by the code cell above")


def setup(app):
    """Register the post-transform."""
    app.add_post_transform(ImageAltText)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
