"""Checks on rendered pages shared by the view tests."""

from __future__ import annotations

import re

_OFFSITE = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")


def offsite_references(html: str) -> list[str]:
    """The ``src``/``href`` attributes of a page that load from another host (the app ships its assets and
    must work without internet). A search for the letters "cdn" is not the check: random CSRF tokens hold them."""
    return [m.group(0) for m in _OFFSITE.finditer(html)]
