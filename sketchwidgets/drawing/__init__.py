"""What a drawing looks like to a model: the line statistics of a set of sketches
(:mod:`.line_stats`), the normaliser that redraws a drawing in a model's training style
(:mod:`.normaliser`), and the one-line hint when a drawing is far from it (:mod:`.style_gap`)."""
