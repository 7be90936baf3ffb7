"""Every bad input gets a clear 4xx with a message, and changes nothing: datastore files, model and task list."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import requests

from .conftest import MODEL, HardenedServer

IMAGE = "study_003"  # unlabeled: a successful upload would show in the datastore


@pytest.fixture(scope="module")
def bad_files(hardened_server: HardenedServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_files")
    image = nib.load(hardened_server.studies / f"{IMAGE}.nii.gz")
    truth = np.asarray(nib.load(hardened_server.groundtruth / f"{IMAGE}.nii.gz").dataobj).astype(np.uint8)

    def save(name: str, data: np.ndarray, affine: np.ndarray = image.affine) -> None:
        nib.save(nib.Nifti1Image(data, affine), folder / name)

    good = folder / "good.nii.gz"
    save("good.nii.gz", truth)
    (folder / "truncated.nii.gz").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (folder / "not_gzip.nii.gz").write_bytes(b"this is a text file, not a NIfTI volume\n")
    (folder / "not_nifti.nii.gz").write_bytes(gzip.compress(b"\x00" * 400))
    save("two_d.nii.gz", truth[:, :, 0])
    save("four_d.nii.gz", np.stack([truth, truth], axis=-1))
    save("wrong_shape.nii.gz", truth[:, :, :-2])
    shifted = image.affine.copy()
    shifted[:3, 3] += 5.0  # mm: the same shape, another place
    save("wrong_affine.nii.gz", truth, affine=shifted)
    save("out_of_range.nii.gz", np.where(truth > 0, 7, 0).astype(np.uint8))
    save("fractional.nii.gz", truth.astype(np.float32) * 0.5)
    save("empty.nii.gz", np.zeros_like(truth))
    save("too_large.nii.gz", np.zeros((40, 40, 40), np.float32))  # 64 000 voxels > max_voxels
    return folder


def _label(name: str, image: str = IMAGE, tag: str = "final") -> Callable:
    def send(server: HardenedServer, files: Path) -> requests.Response:
        with open(files / name, "rb") as f:
            return requests.put(
                f"{server.url}/datastore/label",
                params={"image": image, "tag": tag},
                files={"label": (name, f)},
                timeout=60,
            )

    return send


def _image(name: str, image_id: str | None = "new_study") -> Callable:
    def send(server: HardenedServer, files: Path) -> requests.Response:
        with open(files / name, "rb") as f:
            params = {"image": image_id} if image_id else {}
            return requests.put(f"{server.url}/datastore/image", params=params, files={"file": (name, f)}, timeout=60)

    return send


def _infer(image: str = IMAGE, model: str = MODEL, params: str = "{}") -> Callable:
    def send(server: HardenedServer, files: Path) -> requests.Response:
        return requests.post(
            f"{server.url}/infer/{model}",
            params={"image": image, "output": "json"},
            data={"params": params},
            timeout=60,
        )

    return send


def _train(options: dict, model: str = MODEL) -> Callable:
    def send(server: HardenedServer, files: Path) -> requests.Response:
        return requests.post(f"{server.url}/train/{model}", json=options, timeout=60)

    return send


def _scoring(method: str, options: dict | None = None) -> Callable:
    def send(server: HardenedServer, files: Path) -> requests.Response:
        return requests.post(f"{server.url}/scoring/{method}", json=options or {}, timeout=60)

    return send


# (case, request, expected status, part of the message the user sees)
CASES = [
    ("truncated gzip label", _label("truncated.nii.gz"), 422, "truncated or corrupt"),
    ("text file as label", _label("not_gzip.nii.gz"), 422, "not a readable NIfTI volume"),
    ("gzip of no NIfTI as label", _label("not_nifti.nii.gz"), 422, "not a readable NIfTI volume"),
    ("2D label", _label("two_d.nii.gz"), 422, "must be a 3D volume"),
    ("4D label", _label("four_d.nii.gz"), 422, "must be a 3D volume"),
    ("2D image", _image("two_d.nii.gz"), 422, "must be a 3D volume"),
    ("4D image", _image("four_d.nii.gz"), 422, "must be a 3D volume"),
    ("text file as image", _image("not_gzip.nii.gz"), 422, "not a readable NIfTI volume"),
    ("label of another shape", _label("wrong_shape.nii.gz"), 422, "must be the same"),
    ("label on another grid", _label("wrong_affine.nii.gz"), 422, "not on its image's grid"),
    ("label value outside the declared labels", _label("out_of_range.nii.gz"), 422, "outside the declared labels"),
    ("fractional label values", _label("fractional.nii.gz"), 422, "outside the declared labels"),
    ("empty label", _label("empty.nii.gz"), 422, "is empty"),
    ("label for an unknown image", _label("good.nii.gz", image="no_such_study"), 404, "not in the datastore"),
    ("infer an unknown image", _infer(image="no_such_study"), 404, "not in the datastore"),
    ("infer with an unknown model", _infer(model="no_such_model"), 404, "unknown model"),
    ("train an unknown model", _train({}, model="no_such_model"), 404, "unknown model"),
    ("infer a relative path", _infer(image=f"../data/{IMAGE}"), 400, "must be a plain name"),
    ("infer an absolute path", _infer(image="/etc/passwd"), 400, "must be a plain name"),
    ("label tag with ../", _label("good.nii.gz", tag="../../outside"), 400, "must be a plain name"),
    ("label tag that is an absolute path", _label("good.nii.gz", tag="/tmp/outside"), 400, "must be a plain name"),
    ("image id with ../", _image("good.nii.gz", image_id="../outside"), 400, "must be a plain name"),
    ("image id that is an absolute path", _image("good.nii.gz", image_id="/tmp/outside"), 400, "must be a plain name"),
    ("image id that exists", _image("good.nii.gz", image_id=IMAGE), 409, "already in the datastore"),
    ("train run name with ../", _train({"name": "../outside"}), 400, "must be a plain name"),
    ("max_epochs: 'ten'", _train({"max_epochs": "ten"}), 422, "must be an integer >= 1"),
    ("max_epochs: -1", _train({"max_epochs": -1}), 422, "must be an integer >= 1"),
    ("val_split: 1.5", _train({"val_split": 1.5}), 422, "in [0, 1)"),
    ("unknown train option", _train({"max_epoch": 3}), 422, "unknown train options ['max_epoch']"),
    ("max_epochs: 'ten' to every trainer (POST /train/)", _train({"max_epochs": "ten"}, model=""), 422, "'ten'"),
    ("unknown scoring method", _scoring("no_such_method"), 404, "unknown scoring method"),
    ("scoring option of the wrong type", _scoring("mean_uncertainty", {"score_all": "yes"}), 422, "true or false"),
    ("unknown infer option", _infer(params='{"treshold": 0.5}'), 422, "unknown infer options ['treshold']"),
    ("infer option of the wrong type", _infer(params='{"uncertainty_threshold": "high"}'), 422, "must be a number"),
    ("infer params that are no JSON", _infer(params="{not json"), 422, "must be a JSON object"),
    ("image above max_voxels", _image("too_large.nii.gz"), 413, "more than this server's max_voxels"),
    ("label above max_voxels", _label("too_large.nii.gz"), 413, "more than this server's max_voxels"),
]


@pytest.mark.parametrize(("send", "status", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(
    hardened_server: HardenedServer, bad_files: Path, send: Callable, status: int, message: str
) -> None:
    before = hardened_server.snapshot()
    response = send(hardened_server, bad_files)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert hardened_server.snapshot() == before


def test_a_good_label_is_still_accepted(hardened_server: HardenedServer, bad_files: Path) -> None:
    """The checks refuse bad input only: the same request with a valid label stores it."""
    response = _label("good.nii.gz", tag="reliability_check")(hardened_server, bad_files)
    assert response.status_code == 200, response.text
    assert "reliability_check" in hardened_server.objects()[IMAGE]["labels"]
    requests.delete(
        f"{hardened_server.url}/datastore/label", params={"id": IMAGE, "tag": "reliability_check"}, timeout=30
    ).raise_for_status()
