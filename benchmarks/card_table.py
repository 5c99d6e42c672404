"""The shipped checkpoints' cards as the Markdown table of docs/checkpoints.md.

    python benchmarks/card_table.py

Reads every card in the package (``sketchwidgets.pretrained.available``) and prints
``sketchwidgets.eval.checkpoint_cards.shipped_table``; ``tests/test_docs.py`` checks that the
document holds exactly this table.
"""

from sketchwidgets import pretrained
from sketchwidgets.eval.checkpoint_cards import shipped_table

if __name__ == "__main__":
    print(shipped_table(pretrained.available()))
