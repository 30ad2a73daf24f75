"""The web app's Streamlit-aware helpers; the page scripts are in app_pages/.

- ``pages``: the one page registry (script, title, icon, what Home says of it).
- ``state``: session-state keys.
- ``boundary``: the error boundary every page draws inside.
- ``caches``: Streamlit caches around library calls.
- ``demo_data``: the demo dataset, generated with a progress bar on first use.
- ``sidebar``, ``dataset_choice``: the dataset picker and what it chose.
- ``model_choice``: the models there are and the picker Evaluate and Predict share.
- ``media``: players and the sampled-frame strip.
- ``panels``: parts of one page each.

What pages show without Streamlit (tables, figures, previews, launching runs) is in
``vidcore.views``; the computing is in the rest of ``vidcore``, which never imports
Streamlit.
"""
