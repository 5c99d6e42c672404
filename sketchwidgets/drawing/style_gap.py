"""How far a drawing's lines are from a model's training sketches, by their line statistics.

Two judgements on two :class:`~sketchwidgets.drawing.line_stats.LineStats` measured at the same
side (the drawing's, the model's ``config.line_stats``):

:func:`in_style`
    The drawing's lines already look like the training sketches': the same polarity, a
    stroke width within :data:`WIDTH_SHARE` (or :data:`WIDTH_SLACK` px) of theirs, a line
    grey within :data:`GREY_SLACK` levels and at most :data:`SHADING_SLACK` more grey paper.
    The normaliser then leaves the drawing as it is (merely resized), so a sketch of the
    training kind gives the image it always gave. The ink share is no part of it: a drawing
    may hold more or fewer lines than the training sketches and still be drawn alike.
:func:`gap_hint`
    One line naming what is far off, or None: :data:`FAR` times the ink or the width (or a
    third of it), grey shading, lines much lighter or darker, inverted polarity. The studio
    shows it on a model's tile for the raw drawing.
"""

from __future__ import annotations

from sketchwidgets.drawing.line_stats import LineStats

WIDTH_SHARE = 0.35  # in style: the width within 35 % of the training sketches' ...
WIDTH_SLACK = 0.5  # ... or within half a pixel (at the model's side)
GREY_SLACK = 48.0  # in style: line grey within 48 levels of 255
SHADING_SLACK = 0.1  # in style: at most 10 % more of the picture in grey shading
FAR = 3.0  # a gap hint: 3x (or a third of) the training sketches' ink share or width
FAR_GREY = 80.0  # a gap hint: lines 80 grey levels lighter or darker
FAR_SHADING = 0.15  # a gap hint: 15 % more of the picture in grey shading


def in_style(drawing: LineStats, model: LineStats) -> bool:
    """True when the drawing's lines already look like the model's training sketches'."""
    width_slack = max(WIDTH_SLACK, WIDTH_SHARE * model.stroke_width)
    return (
        drawing.dark_on_light == model.dark_on_light
        and abs(drawing.stroke_width - model.stroke_width) <= width_slack
        and abs(drawing.line_grey - model.line_grey) <= GREY_SLACK
        and drawing.shading_share <= model.shading_share + SHADING_SLACK
    )


def _ratio_note(what: str, drawing: float, model: float) -> str | None:
    """``"5.2x the ink"`` / ``"a quarter of the width"`` when ``FAR`` apart, else None."""
    if model <= 0 or drawing <= 0:
        return None
    ratio = drawing / model
    if ratio >= FAR:
        return f"{ratio:.1f}x the {what}"
    if ratio <= 1 / FAR:
        return f"1/{1 / ratio:.0f} of the {what}"
    return None


def gap_notes(drawing: LineStats, model: LineStats) -> list[str]:
    """What is far off, each as a few words (empty when nothing is)."""
    notes = [
        _ratio_note("ink", drawing.ink_share, model.ink_share),
        _ratio_note("line width", drawing.stroke_width, model.stroke_width),
    ]
    if drawing.shading_share >= model.shading_share + FAR_SHADING:
        notes.append("grey shading")
    if drawing.line_grey - model.line_grey >= FAR_GREY:
        notes.append("grey (pencil) lines")
    elif model.line_grey - drawing.line_grey >= FAR_GREY:
        notes.append("darker lines")
    if drawing.dark_on_light != model.dark_on_light:
        notes.append("inverted (light lines on dark)")
    return [note for note in notes if note]


def gap_hint(drawing: LineStats, model: LineStats) -> str | None:
    """One line for a model's tile: how the raw drawing differs from its training sketches."""
    notes = gap_notes(drawing, model)
    if not notes:
        return None
    return "unlike its training sketches: " + ", ".join(notes)
