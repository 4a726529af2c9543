"""``ltbench leaderboard --out DIR``: a static site of every run, submission and published row, with provenance.

``boards`` gathers the rows (ltbench's tables and intervals, unchanged), ``checkpoints``
says how each number's model was chosen, ``cards`` prepares the recipe cards,
``figures`` draws the report figures as SVG, ``site`` renders the pages with
Jinja2 and pandas Styler. docs/leaderboard.md describes the site.
"""
