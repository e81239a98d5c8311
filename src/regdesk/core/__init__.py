"""regdesk.core: the pure-Python heart (regulation model, business calendars, clocks).

Nothing here imports Django; an import-linter contract enforces it.
"""
