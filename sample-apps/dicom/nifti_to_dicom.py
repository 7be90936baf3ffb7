"""Convert NIfTI studies to DICOM series (and labels onto their grids), optionally uploading them to a PACS.

A thin command line (``--help``) of ``lib.tools.nifti_to_dicom``, which the tests and benchmarks import.
"""

import sys

from lib.tools.nifti_to_dicom import main

if __name__ == "__main__":
    sys.exit(main())
