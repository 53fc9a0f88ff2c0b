"""A Colab button on every page that has a notebook, in both editions.

Colab opens ``.ipynb`` files from GitHub only, and the book's pages are MyST Markdown, so the
theme's own Colab button (which names the page's ``.md`` source) cannot work. This button opens
instead the page's built notebook (the one its download button gives: install cell first, numbers
and figures in place) as the publishing workflow puts it on the ``gh-pages`` branch
(:mod:`cnnbook_lib.site`): the full edition's in the full edition, the student edition's (no
solutions) in the student edition. The address derives from ``repository.url`` in ``_config.yml``.
"""
from __future__ import annotations

from pathlib import Path

from .site import colab_url

GROUP = "launch-buttons"


def add_colab_button(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html" or "header_buttons" not in context:
        return
    has_notebook = bool(context.get("ipynb_source")) or \
        (Path(app.outdir) / "_sources" / f"{pagename}.ipynb").exists()
    if not has_notebook:
        return
    options = getattr(app.config, "html_theme_options", None) or {}
    student = bool(getattr(app.config, "hide_solutions", False))
    url = colab_url(options.get("repository_url"), pagename, student=student)
    if url is None:
        return
    button = {"type": "link", "text": "Colab", "label": "launch-colab-button",
              "tooltip": "Open this page's notebook in Colab" + (" (student edition)" if student else ""),
              "icon": "_static/images/logo_colab.png", "url": url}
    buttons = context["header_buttons"]
    group = next((b for b in buttons if isinstance(b, dict) and b.get("label") == GROUP), None)
    if group is None:
        # the student edition has no launch group (its Binder would open the full repository)
        group = {"type": "group", "tooltip": "Launch interactive content", "icon": "fas fa-rocket",
                 "buttons": [], "label": "launch-colab"}
        buttons.insert(0, group)
    group["buttons"] = [b for b in group["buttons"] if b.get("text") != "Colab"] + [button]


def setup(app):
    # after the theme's launch buttons (501) and the student edition's removal of them (900)
    app.connect("html-page-context", add_colab_button, priority=950)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
