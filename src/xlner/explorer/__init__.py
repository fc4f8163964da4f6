"""The explorer's library side: everything the Streamlit pages show, as plain testable functions.

- :mod:`.loading`     find run directories (demo, ``../shared/data`` runs, user runs) and read them
- :mod:`.diff`        gold vs projected spans per sentence, and the entity-level error table
- :mod:`.figures`     token rows (HTML), alignment heatmap and alignment lines (plotly figures)
- :mod:`.reproject`   re-project one stored record with another method via :func:`xlner.project`
- :mod:`.corrections` the append-only SQLite store of annotator decisions, and the exports
- :mod:`.jobs`        pipeline runs started from the browser, as detached subprocesses
- :mod:`.reference`   the paper's reference numbers (method.md §7), kept apart from our own

The pages (``app.py``, ``pages/*.py``) only lay these out; :mod:`.ui` holds the Streamlit glue.
Error codes: E9xx.
"""
