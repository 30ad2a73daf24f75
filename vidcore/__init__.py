"""vidcore: a video action-classification workbench (library; never imports streamlit)."""

__version__ = "0.1.0"
