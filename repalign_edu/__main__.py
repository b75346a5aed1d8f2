"""``python -m repalign_edu``: the ``repalign`` command line (see :mod:`repalign_edu.cli`)."""
from .cli import console_main

if __name__ == "__main__":
    console_main()
