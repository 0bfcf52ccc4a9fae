"""Reports over the store: tool fit (which OKR tool suits a client, and what each would lose
of the client's own data) and the progress board.

- ``catalogue``: the shipped OKR tool catalogue, every cell with a source and a confidence;
- ``profile``: the scoring criteria, weight presets and the client profile file;
- ``fit``: what each tool can hold of the OKRs in the store, and the migration effort;
- ``scoring``: weighted scores, must-have knock-outs and the sensitivity check;
- ``progress``: the board data (scores, trends, stale KRs, check-in cadence);
- ``render``: HTML (self-contained, inline SVG, printable), Markdown and JSON;
- ``commands``: the ``okrsync report`` click group.
"""
