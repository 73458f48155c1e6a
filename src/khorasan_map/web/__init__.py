"""The page code of every map: JavaScript and CSS files shipped as package data.

The files are inlined into each map's HTML (maps work offline), so linters and formatters read
them as the files they are. They hold no data: each map's data arrives as JSON in a
``<script type="application/json">`` element, and ``kmlib.js`` starts drawing from the
``script.km-boot`` element that names it.

=====================  ==============================================================
``kmlib.js``           builds layers, tooltips, popups, legend, headline and notes
``kmcanvas.js``         draws many points on one canvas from binary columns, popups on click
``kmlib.css``          styles of the map furniture, legend, tooltips and popups
``offline-icons.js``   points Leaflet's default marker icon at inlined images (offline)
``offline.css``        the plain background of offline maps, which have no tiles
=====================  ==============================================================
"""

from __future__ import annotations

import functools
from importlib.resources import files

__all__ = ["WEB_FILES", "web_file"]

#: The page files this package ships.
WEB_FILES: tuple[str, ...] = (
    "kmlib.js", "kmcanvas.js", "kmlib.css", "offline-icons.js", "offline.css"
)


@functools.cache
def web_file(name: str) -> str:
    """Return the text of a shipped page file, ready to inline in a ``<script>`` or ``<style>``.

    Parameters
    ----------
    name : str
        One of :data:`WEB_FILES`.

    Returns
    -------
    str
        The file's text.

    Raises
    ------
    ValueError
        For an unknown name, or a file that would close its element early.

    Examples
    --------
    >>> "var kmLib" in web_file("kmlib.js")
    True
    """
    if name not in WEB_FILES:
        raise ValueError(f"unknown page file {name!r}; choose one of {', '.join(WEB_FILES)}")
    text = (files(__name__) / name).read_text(encoding="utf-8")
    closing = "</script" if name.endswith(".js") else "</style"
    if closing in text.lower():
        raise ValueError(f"page file {name} contains {closing}> and cannot be inlined")
    return text
