"""Evaluation: image metrics (:mod:`.metrics`), shape metrics (:mod:`.shape_metrics`), the
baselines a model is judged against (:mod:`.baselines`), and the comparison of the four
models on one set of sketches (:mod:`.comparison`)."""
