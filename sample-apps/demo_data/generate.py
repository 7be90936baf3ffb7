"""Generate the demo study set (synthetic CT-like volumes with organ and lesion labels).

A thin command line (``--help``) of ``lib.tools.demo_data``, which the tests and benchmarks import.
"""

import sys

from lib.tools.demo_data import main

if __name__ == "__main__":
    sys.exit(main())
