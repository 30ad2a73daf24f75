"""Session-state keys and the dataset sources the sidebar offers.

Sidebar widgets live in app.py's run (drawn on every page), so their values persist
across page switches; pages read them through ``dataset_choice`` and ``model_choice``.
"""

from __future__ import annotations

# Sidebar widgets live in app.py's run (rendered on every page), so their values
# persist across page switches; pages read them only through the functions below.
DATASET_SOURCE = "dataset_source"


DATASET_PATH = "dataset_path"


DATASET_SPLIT = "dataset_split"


SAMPLER_NAME = "sampler_name"


SAMPLER_FRAMES = "sampler_frames"


SAMPLER_RATE = "sampler_rate"


RUN_CHOICE = "run_choice"  # the model picked on Evaluate and Predict (Train's buttons set it)


WANTED_RUN = "wanted_run"  # set by a button elsewhere; moved into RUN_CHOICE by pick_model


MODEL_PICKED = "model_picked"  # RUN_CHOICE's last value, kept across page switches


MODELS_SEEN = "models_seen"  # the models pick_model offered last time (a new one is picked)


TRAIN_RUN = "train_run"  # the run the Train page watches


DEMO, FOLDER = "Demo dataset", "A folder on this machine"


MINE = "My datasets"  # a dataset of the workspace (vidcore.workspace), built in the browser


MY_DATASET = "my_dataset"  # which one (the sidebar's selectbox)


SPACE = "vidcore_space"  # the folder of the user space this session acts in (sign-in on)


SPACE_PICK = "vidcore_space_pick"  # an admin's pick of whose space to open
