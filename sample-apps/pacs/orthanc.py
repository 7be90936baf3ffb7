"""Run Debian's Orthanc as a DICOMweb PACS bound to loopback.

A thin command line (``--help``) of ``lib.tools.orthanc``, which the tests and benchmarks import.
"""

import sys

from lib.tools.orthanc import main

if __name__ == "__main__":
    sys.exit(main())
