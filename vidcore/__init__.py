"""vidcore: a video action-classification workbench (library; never imports streamlit).

Importing it changes nothing in the process: the entry points (``vidcore.cli.main``,
``app.py``) call ``vidcore.settings.quiet_native_logs()``.
"""

__version__ = "0.1.0"
