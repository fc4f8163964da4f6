"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from xlner.explorer.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright (never ``playwright install``), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A page in a context of its own (closed afterwards); the viewport is 1400×900 unless the test
    module sets ``VIEWPORT``."""
    viewport = getattr(request.module, "VIEWPORT", {"width": 1400, "height": 900})
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()
