"""Custom Streamlit components of the explorer (``st.components.v2``: inline JS and CSS, no build step).

- :func:`span_picker` marks or adjusts an entity by pointing at tokens and sets its type by key;
  :func:`pending_commands` reads what it sent.

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
                target_text: str = "", acked: tuple[str, int] | None = None) -> Any:
    """Mount the picker. ``spans``: ``{start, end, label, key, state, current, added}`` to draw;
    ``target``: the entity key a selection fixes (fix mode), else the overlapped projected entity.

    Returns the component result: ``.remembered`` is the name this browser stored, when the page
    has none. Everything the annotator decides comes as the *state* ``command``:
    ``{token, seq, commands: [{seq, command, ...}]}``, every command the page has not acknowledged,
    oldest first, with ``command`` one of accept, reject, fix, skip, next (a key) or ``span`` (a
    finished selection, with ``span: {start, end, label, target}``); the page reads them with
    :func:`pending_commands` before it draws, and passes the ``(token, seq)`` it handled last as
    ``acked`` so that the picker forgets them. ``nonce`` changes to clear a pending selection (after a
    save, on another sentence)."""
    data = {"tokens": tokens, "spans": spans, "labels": labels, "colours": colours, "dir": direction,
            "annotator": annotator, "nonce": nonce, "target": target, "target_text": target_text,
            "acked": list(acked) if acked else None}
    return _span_picker()(key=key, data=data, on_remembered_change=_noop, on_command_change=_noop)


def _noop() -> None:
    """Trigger values are read from the result; the callbacks only declare them."""


def pending_commands(state: Any, done: tuple[str, int] | None) -> list[dict[str, Any]]:
    """The picker's commands (keys or spans) this session has not handled yet, oldest first (``done``
    is the ``(token, seq)`` handled last; a new token is a new page load, whose commands are all new).
    A command sent twice (the picker resends what stays unacknowledged) comes once."""
    value = state.get("command") if hasattr(state, "get") else None
    if not isinstance(value, dict) or not isinstance(value.get("commands"), list):
        return []
    token = value.get("token")
    after = done[1] if done is not None and done[0] == token else 0
    fresh: dict[int, dict[str, Any]] = {}
    for cmd in value["commands"]:
        if isinstance(cmd, dict) and isinstance(cmd.get("seq"), int) and cmd["seq"] > after:
            fresh[cmd["seq"]] = {**cmd, "token": token}
    return [fresh[seq] for seq in sorted(fresh)]
