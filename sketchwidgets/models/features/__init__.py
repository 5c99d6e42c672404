"""Feature networks the losses and metrics read through: FID's InceptionV3 as plain modules
(:mod:`.inception`), and the one checked way to load their weights (:mod:`.networks`)."""
