"""xlner explorer: browse, inspect and run cross-lingual NER projections (`streamlit run app.py`).

The entry point names the pages (st.navigation): "Home" first (xlner.explorer.home), then every file
in pages/ in file order, so a new page (e.g. 7_Compare.py) still only needs a file there. Every page
works when opened directly, with or without query parameters.
"""

import streamlit as st

from xlner.explorer import ui

st.navigation(ui.navigation_pages()).run()
