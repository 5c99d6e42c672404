"""`python -m sketchwidgets ...` runs the command-line interface."""

from sketchwidgets.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
