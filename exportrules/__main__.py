"""``python -m exportrules``: the command line."""

from .cli import run

run()
