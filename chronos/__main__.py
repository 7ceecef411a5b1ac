"""``python -m chronos`` runs the command-line interface."""

from chronos.cli import main

main()
