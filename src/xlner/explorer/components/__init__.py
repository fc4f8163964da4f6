"""Custom Streamlit components of the explorer (``st.components.v2``: inline JS and CSS, no build step).

- :func:`span_picker` marks or adjusts an entity by pointing at tokens and sets its type by key.

The JavaScript and CSS live beside this module as package data (``span_picker/picker.js``,
``picker.css``) and are read once; Streamlit serves them inline.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import streamlit as st


@lru_cache(maxsize=1)
def _span_picker() -> Any:
    folder = resources.files("xlner.explorer.components").joinpath("span_picker")
    return st.components.v2.component(
        "xlner_span_picker",
        js=folder.joinpath("picker.js").read_text(encoding="utf-8"),
        css=folder.joinpath("picker.css").read_text(encoding="utf-8"),
    )


def span_picker(*, tokens: list[str], spans: list[dict[str, Any]], labels: list[str], colours: dict[str, str],
                direction: str, annotator: str, nonce: str, key: str, target: str | None = None,
                target_text: str = "") -> Any:
    """Mount the picker. ``spans``: ``{start, end, label, key, state, current, added}`` to draw;
    ``target``: the entity key a selection fixes (fix mode), else the overlapped projected entity.

    Returns the component result: ``.remembered`` is the name this browser stored, when the page
    has none. Everything the annotator decides comes as the *state* ``command``:
    ``{token, seq, command}`` with ``command`` one of accept, reject, fix, skip, next (a key) or
    ``span`` (a finished selection, with ``span: {start, end, label, target}``); the page reads it
    with :func:`pending_command` before it draws. ``nonce`` changes to clear a pending selection
    (after a save, on another sentence)."""
    data = {"tokens": tokens, "spans": spans, "labels": labels, "colours": colours, "dir": direction,
            "annotator": annotator, "nonce": nonce, "target": target, "target_text": target_text}
    return _span_picker()(key=key, data=data, on_remembered_change=_noop, on_command_change=_noop)


def _noop() -> None:
    """Trigger values are read from the result; the callbacks only declare them."""


def pending_command(state: Any, done: tuple[str, int] | None) -> dict[str, Any] | None:
    """The picker's last command (a key or a span) if this session has not handled it yet (``done``
    is the ``(token, seq)`` handled last; a new token is a new page load)."""
    cmd = state.get("command") if hasattr(state, "get") else None
    if not isinstance(cmd, dict) or "seq" not in cmd:
        return None
    if done is not None and done[0] == cmd.get("token") and int(cmd["seq"]) <= done[1]:
        return None
    return cmd
