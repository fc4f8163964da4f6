"""Small helpers of the explorer's browser tests (the page fixture is in conftest.py)."""

from __future__ import annotations

import urllib.parse

# The Sentences page shows the sentence ``sid`` (its heading starts with the id).
SHOWN = "sid => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(sid + ' '))"


def query(page) -> dict[str, str]:
    """The page's URL query parameters."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(page.url).query))


def heading(page) -> str:
    """The first sentence heading on the page."""
    return page.locator("h3").first.inner_text()
