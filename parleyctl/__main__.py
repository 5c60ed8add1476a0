"""`python -m parleyctl` is the `parleyctl` command."""

from parleyctl.cli import main

main()
