"""Parts of one page each, too big to sit in the page script: Streamlit-aware, drawn by it.

``training`` (Train), ``evaluation`` (Evaluate), ``prediction``, ``explain`` and ``timeline``
(Predict), ``model_transfer`` (Evaluate and Predict).
"""
