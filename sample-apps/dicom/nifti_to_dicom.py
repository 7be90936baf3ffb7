"""Turn a NIfTI volume into a DICOM CT (or MR) series: one file per slice, geometry tags from the NIfTI affine.

    python sample-apps/dicom/nifti_to_dicom.py data/study_000.nii.gz dicom/study_000 [--modality MR]

NIfTI affines are RAS; DICOM patient coordinates are LPS, so the first two axes change sign. Pixel (row r, column c)
of slice k is voxel (i=c, j=r, k): the row direction is the i axis, the column direction the j axis.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

__all__ = ["write_series"]

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def write_series(volume: np.ndarray, affine: np.ndarray, out_dir: Path, modality: str = "CT", **tags: str) -> str:
    """Write ``volume`` (i, j, k) as a series of 2D slices under ``out_dir``; returns the SeriesInstanceUID."""
    if volume.ndim != 3:
        raise ValueError(f"volume must be 3D, got shape {volume.shape}")
    if modality not in ("CT", "MR"):
        raise ValueError(f"modality must be CT or MR, got {modality!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    lps = RAS_TO_LPS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    row_dir, col_dir = lps[:3, 0] / spacing[0], lps[:3, 1] / spacing[1]
    pixels = np.asarray(volume)
    if not np.issubdtype(pixels.dtype, np.integer):
        pixels = np.round(pixels)
    pixels = np.clip(pixels, -32768, 32767).astype(np.int16)
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    now = datetime.datetime.now()
    for k in range(pixels.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(out_dir / f"slice_{k:04d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.Modality = modality
        ds.PatientName = tags.get("PatientName", "Demo^Patient")
        ds.PatientID = tags.get("PatientID", "demo")
        ds.StudyDate = ds.SeriesDate = now.strftime("%Y%m%d")
        ds.StudyTime = ds.SeriesTime = now.strftime("%H%M%S")
        ds.StudyDescription = tags.get("StudyDescription", "Synthetic demo study")
        ds.SeriesDescription = tags.get("SeriesDescription", f"Synthetic {modality}")
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.ImageOrientationPatient = [float(v) for v in (*row_dir, *col_dir)]
        ds.ImagePositionPatient = [float(v) for v in (lps @ np.array([0.0, 0.0, k, 1.0]))[:3]]
        ds.PixelSpacing = [float(spacing[1]), float(spacing[0])]  # row spacing (j), column spacing (i)
        ds.SliceThickness = float(spacing[2])
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape[1], pixels.shape[0]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = np.ascontiguousarray(pixels[:, :, k].T).tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(str(out_dir / f"slice_{k:04d}.dcm"), write_like_original=False)
    return series_uid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nifti", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--modality", default="CT", choices=["CT", "MR"])
    args = parser.parse_args()
    image = nib.load(str(args.nifti))
    uid = write_series(np.asarray(image.dataobj), image.affine, args.out_dir, args.modality)
    print(f"wrote {image.shape[2]} slices of series {uid} to {args.out_dir}")


if __name__ == "__main__":
    main()
