"""``python -m nitro_dispatch``: the same command line as ``nitro-dispatch``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
