"""The annotation guideline: Markdown written by the project's admins, shown to every member as HTML.

Markdown allows raw HTML, so the rendered HTML is sanitised (nh3, an allow-list: no scripts, no event
handlers, no ``javascript:`` links, no inline styles) before it reaches a page. Pure functions.
"""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

EXTENSIONS = ["tables", "fenced_code", "sane_lists", "def_list", "toc"]
ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"} | {"span"}
ALLOWED_ATTRIBUTES = {**{k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items() if k not in ("img", "area")},
                      "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "code": {"class"}}


def guideline_html(text: str) -> SafeString:
    """``text`` (Markdown) as sanitised HTML."""
    html = markdown.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
