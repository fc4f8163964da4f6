"""The experiment's figure (plotly): HTML always, PNG when kaleido finds a Chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np


def degradation_figure(agg: Any) -> Any:  # a pandas DataFrame in, a plotly Figure out
    """F1 per method, in- vs out-of-domain test sets, one panel per language, CI error bars."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    langs = sorted(agg.language.unique())
    fig = make_subplots(rows=1, cols=len(langs), subplot_titles=[f"language: {l}" for l in langs],
                        shared_yaxes=True)
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    methods = sorted(agg.method.unique())
    in_legend: set[str] = set()  # each method once, from the first panel it appears in
    for j, lang in enumerate(langs, start=1):
        g = agg[agg.language == lang].sort_values(["in_domain", "test_set"], ascending=[False, True])
        for k, m in enumerate(methods):
            h = g[g.method == m]
            if h.empty:
                continue
            fig.add_trace(go.Scatter(
                x=[f"{r.test_set}<br>({r.domain}{', in' if r.in_domain else ''})" for r in h.itertuples()],
                y=100 * h.f1, mode="lines+markers", name=m, legendgroup=m, showlegend=m not in in_legend,
                line=dict(color=palette[k % len(palette)]),
                error_y=dict(type="data", symmetric=False, array=100 * (h.f1_ci_high - h.f1),
                             arrayminus=100 * (h.f1 - h.f1_ci_low)),
                customdata=np.stack([h.n_seeds, 100 * h.f1_ci_low, 100 * h.f1_ci_high], axis=-1),
                hovertemplate="%{x}<br>F1 %{y:.1f} [%{customdata[1]:.1f}, %{customdata[2]:.1f}]"
                              "<br>seeds: %{customdata[0]}<extra>" + m + "</extra>"), row=1, col=j)
            in_legend.add(m)
    fig.update_yaxes(title_text="F1 x 100 (mean over seeds, 95% CI)", col=1)
    fig.update_layout(title="F1 per method and test set (in vs out of domain where a language has both)",
                      height=450, legend_title_text="method")
    return fig


def find_browser() -> tuple[str | None, str]:
    """A Chrome/Chromium for static image export (kaleido 1.x drives one), and where it came from.

    ``BROWSER_PATH`` wins (as in kaleido's own lookup, but a wrong value is reported, not
    ignored), then Debian's ``/usr/bin/chromium`` (the explorer's browser), then ``PATH``.
    """
    import shutil

    env = os.environ.get("BROWSER_PATH")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env, "BROWSER_PATH"
        return None, f"BROWSER_PATH={env} is not an executable file"
    try:
        from xlner.explorer.browser import CHROMIUM
    except ImportError:
        CHROMIUM = "/usr/bin/chromium"
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM, "Debian chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found, "PATH"
    return None, "no Chrome/Chromium found (install Debian's chromium or set BROWSER_PATH)"


def write_png(fig, path: Path, *, width: int = 1100, height: int | None = None) -> str | None:
    """Write ``fig`` as a PNG with kaleido and a local Chromium; returns why not, or None when done.

    kaleido is called directly rather than through ``fig.write_image`` (plotly 6+ passes options
    kaleido 1.2 does not know), and it is given the browser found by :func:`find_browser`.
    """
    browser, found = find_browser()
    if browser is None:
        return found
    try:
        import kaleido
    except ImportError:
        return "kaleido is not installed (pip install kaleido==1.2.0)"
    spec = fig.to_dict()
    opts = {"format": "png", "width": width, "scale": 1,
            "height": height or spec.get("layout", {}).get("height") or 500}
    try:
        data = kaleido.calc_fig_sync(spec, opts=opts, kopts={"path": browser})
    except Exception as exc:  # a browser that does not start, a render timeout: keep the HTML
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return f"kaleido could not render with {browser}: {type(exc).__name__}: {first}"
    if not isinstance(data, (bytes, bytearray)) or not bytes(data).startswith(b"\x89PNG"):
        return f"kaleido returned no PNG with {browser}"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, path)
    return None


def write_plots(exp: Path, agg, *, log: Callable[[str], None] | None = None) -> list[Path]:
    """plots/*.html (self-contained) and, when a Chromium is found, a PNG next to each.

    Without a browser (or kaleido) the HTML is kept and one line says why the PNGs were skipped.
    """
    plots = exp / "plots"
    plots.mkdir(exist_ok=True)
    figures = {"degradation": degradation_figure(agg)}
    written = []
    for name, fig in figures.items():
        fig.write_html(plots / f"{name}.html", include_plotlyjs=True)
        written.append(plots / f"{name}.html")
    for name, fig in figures.items():
        png = plots / f"{name}.png"
        why = write_png(fig, png, width=max(800, 380 * agg.language.nunique()))
        if why is not None:
            png.unlink(missing_ok=True)  # a stale PNG would not match the new HTML
            if log:
                log(f"plots: PNG skipped, HTML only ({why})")
            break
        written.append(png)
    return written


