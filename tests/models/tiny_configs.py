"""The smallest config of every registered model, for the registry-wide contract test.

``TINY_CONFIGS[name]`` is a dict of config overrides for ``build_model(name, **overrides)``:
32 px images, the narrowest widths that still build, a search or schedule cut to a few steps.
``class_names`` is left out: the test fills it in from its labelled data. A model added to
``sketchwidgets.models.MODELS`` adds one line here, or ``tests/models/test_contract.py`` fails.
"""

from __future__ import annotations

from typing import Any

from sketchwidgets.train.recipes import preset

TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "pix2pix": {"image_size": 32, "ngf": 4, "ndf": 4},
    "contextual_gan": {
        **preset("contextual_gan/data_limited"),  # the measured recipe the shipped models use
        "image_size": 32,
        "z_dim": 8,
        "gf_dim": 4,
        "df_dim": 4,
        "search.n_init": 2,  # a dotted key: a field of the nested search settings
        "search.iterations": 2,
        "encoder_width": 4,
    },
    "sketchygan": {"image_size": 32, "ngf": 4, "ndf": 4, "latent_dim": 8},
    "edgegan": {
        "image_size": 32,
        "z_dim": 8,
        "gf_dim": 4,
        "df_dim": 4,
        "ef_dim": 4,
        "classifier_dim": 2,
        "image_dis_size": 32,
        "edge_dis_size": 64,
        "pair_l1_weight": 1.0,  # the shipped recipes' pair step and image refiner
        "image_refiner_width": 4,
    },
}
