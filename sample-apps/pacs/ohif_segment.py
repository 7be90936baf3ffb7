"""Open a study in OHIF (headless Chromium), run a model from the MONAI Label panel, save a screenshot.

A thin command line (``--help``) of ``lib.tools.ohif_segment``, which the tests and benchmarks import.
"""

import sys

from lib.tools.ohif_segment import main

if __name__ == "__main__":
    sys.exit(main())
