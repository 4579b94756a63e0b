"""`python -m connectguard` runs the command line."""

from connectguard.cli import main

main()
