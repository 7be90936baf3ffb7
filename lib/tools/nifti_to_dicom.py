"""Turn NIfTI volumes into DICOM CT (or MR) series, one file per slice with geometry tags from the NIfTI affine, and
optionally store them in a PACS over DICOMweb (STOW-RS).

    python sample-apps/dicom/nifti_to_dicom.py data/*.nii.gz --out dicom [--modality MR] \
        [--upload http://127.0.0.1:8042/dicom-web] [--map dicom/series.json] [--labels data_groundtruth]

Each volume becomes one study of one series under ``--out/<name>/``; its file name (``study_000``) is the PatientID,
PatientName and StudyDescription, so the studies can be told apart in a viewer's study list. ``--map`` writes
``{name: {"StudyInstanceUID": ..., "SeriesInstanceUID": ...}}``, which scripted annotators use to find a series'
ground truth.

NIfTI affines are RAS; DICOM patient coordinates are LPS, so the first two axes change sign. Pixel (row r, column c)
of slice k is voxel (i=c, j=r, k): the row direction is the i axis, the column direction the j axis.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom import dcmread
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from ..datastore.dicomweb import resample_label_to_image

__all__ = ["convert_volume", "label_on_series_grid", "study_name", "upload_series", "write_series"]

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def study_name(path: Path) -> str:
    return path.name.removesuffix(".gz").removesuffix(".nii")


def write_series(
    volume: np.ndarray, affine: np.ndarray, out_dir: Path, modality: str = "CT", **tags: str
) -> tuple[str, str]:
    """Write ``volume`` (i, j, k) as a series of 2D slices under ``out_dir``; returns (StudyInstanceUID,
    SeriesInstanceUID)."""
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
    return study_uid, series_uid


def upload_series(series_dir: Path, dicomweb_url: str) -> int:
    """Store every file of ``series_dir`` in the PACS with STOW-RS; returns the number of instances stored."""
    from dicomweb_client.api import DICOMwebClient

    datasets = [dcmread(str(f)) for f in sorted(series_dir.glob("*.dcm"))]
    result = DICOMwebClient(url=dicomweb_url).store_instances(datasets)
    failed = result.get("00081198", {}).get("Value", []) if result else []  # FailedSOPSequence
    if failed:
        raise RuntimeError(f"the PACS refused {len(failed)} of {len(datasets)} instances of {series_dir}")
    return len(datasets)


def label_on_series_grid(label: Path, series_dir: Path, out: Path) -> None:
    """``label`` (on its NIfTI volume's grid) resampled onto the grid a DICOM reader gives the series in
    ``series_dir``: the grid the server infers on and checks uploaded labels against."""
    from monailabel.datastore.utils.convert import dicom_to_nifti

    series_nifti = dicom_to_nifti(str(series_dir))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        resample_label_to_image(str(label), series_nifti, str(out))
    finally:
        os.unlink(series_nifti)


def convert_volume(
    path: Path, out: Path, modality: str = "CT", upload: str | None = None, labels: Path | None = None
) -> dict[str, str]:
    """One NIfTI volume as a series under ``out/<name>/``, stored in the PACS at ``upload`` if given, and its label
    from ``labels`` (same file name), if there is one, on the series' grid under ``out/labels/``. Returns the
    StudyInstanceUID and SeriesInstanceUID."""
    name = study_name(path)
    image = nib.load(str(path))
    tags = {"PatientID": name, "PatientName": name, "StudyDescription": name}
    study_uid, series_uid = write_series(np.asarray(image.dataobj), image.affine, out / name, modality, **tags)
    if upload:
        upload_series(out / name, upload)
    if labels and (labels / path.name).exists():
        label_on_series_grid(labels / path.name, out / name, out / "labels" / f"{name}.nii.gz")
    return {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nifti", type=Path, nargs="+", help="NIfTI volumes (.nii, .nii.gz)")
    parser.add_argument("--out", type=Path, required=True, help="one series folder per volume is written here")
    parser.add_argument("--modality", default="CT", choices=["CT", "MR"])
    parser.add_argument("--upload", metavar="DICOMWEB_URL", help="store the series in this PACS (STOW-RS)")
    parser.add_argument("--map", type=Path, help="write {name: {StudyInstanceUID, SeriesInstanceUID}} as JSON here")
    parser.add_argument("--labels", type=Path, help="labels of the volumes (same names): put on the series' grids")
    args = parser.parse_args()
    uids = {}
    for path in args.nifti:
        uids[study_name(path)] = convert_volume(path, args.out, args.modality, args.upload, args.labels)
        print(f"{study_name(path)}: series {uids[study_name(path)]['SeriesInstanceUID']}", flush=True)
    if args.map:
        args.map.parent.mkdir(parents=True, exist_ok=True)
        args.map.write_text(json.dumps(uids, indent=2))


if __name__ == "__main__":
    main()
