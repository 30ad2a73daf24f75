"""vidcore: a video action-classification workbench (library; never imports streamlit).

Importing it changes nothing in the process (``vidcore.data.video.quiet_native_logs``
runs when vidcore opens a video).
"""

__version__ = "0.1.0"
