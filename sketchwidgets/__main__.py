"""`python -m sketchwidgets ...` runs the command-line interface."""

from sketchwidgets.cli import main

raise SystemExit(main())
