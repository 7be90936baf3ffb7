#!/usr/bin/env bash
# The hospital set-up on one machine, all on loopback: Orthanc as the DICOMweb PACS holding the demo studies as DICOM
# CT series (the first four with their labels stored as DICOM SEG), and the app's server on that PACS, with OHIF at
# http://127.0.0.1:8000/ohif/ .  Needs root (or sudo) once, for Debian's orthanc and chromium packages.
#   bash sample-apps/run_pacs_demo.sh            # PACS on 127.0.0.1:8042, server on 127.0.0.1:8000
#   PORT=8080 PACS_PORT=8043 bash sample-apps/run_pacs_demo.sh --conf max_epochs 20
set -euo pipefail
cd "$(dirname "$0")/.."
bash sample-apps/pacs/install_debian_packages.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
[ -d data ] || .venv/bin/python sample-apps/demo_data/generate.py --out data --num 16 --labeled 4
PACS_PORT="${PACS_PORT:-8042}"
PACS="http://127.0.0.1:$PACS_PORT/dicom-web"
.venv/bin/python sample-apps/pacs/orthanc.py --port "$PACS_PORT" --storage pacs/storage &
orthanc_pid=$!
trap 'kill $orthanc_pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PACS_PORT/system" >/dev/null; do sleep 1; done
fresh=""
if [ ! -f pacs/series.json ]; then  # first run: the PACS (pacs/storage) is empty
  .venv/bin/python sample-apps/dicom/nifti_to_dicom.py data/*.nii.gz --out pacs/dicom --upload "$PACS" \
    --map pacs/series.json --labels data_groundtruth
  fresh=1
fi
# The monailabel launcher runs `python` from PATH; training and scoring subprocesses need PYTHONPATH.
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export MONAI_LABEL_DICOMWEB_CACHE_PATH="$PWD/pacs/cache"
PORT="${PORT:-8000}"
monailabel start_server --app . --studies "$PACS" --host "${HOST:-127.0.0.1}" --port "$PORT" "$@" &
server_pid=$!
trap 'kill $server_pid $orthanc_pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/info/" >/dev/null; do sleep 2; done
# On the first run, the labels the demo generator made (data/labels/final) are submitted as an annotator would, on
# the series' grids: the server stores them in the PACS as DICOM SEG.
for label in ${fresh:+data/labels/final/*.nii.gz}; do
  name=$(basename "$label" .nii.gz)
  series=$(.venv/bin/python -c "import json,sys; print(json.load(open('pacs/series.json'))[sys.argv[1]]['SeriesInstanceUID'])" "$name")
  curl -sf -X PUT "http://127.0.0.1:$PORT/datastore/label?image=$series&tag=final" \
    -F "label=@pacs/dicom/labels/$name.nii.gz" -F 'params={}' >/dev/null && echo "label of $name stored in the PACS"
done
echo "OHIF: http://127.0.0.1:$PORT/ohif/   (MONAI Label panel: server http://127.0.0.1:$PORT/)"
wait $server_pid
