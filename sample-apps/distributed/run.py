"""Train or score under torchrun.

A thin command line (``--help``) of ``lib.tools.torchrun_entry``, which the tests and benchmarks import.
"""

import sys

from lib.tools.torchrun_entry import main

if __name__ == "__main__":
    sys.exit(main())
