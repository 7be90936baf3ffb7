#!/usr/bin/env bash
# Debian packages for the PACS path and its tests: Orthanc with its DICOMweb plugin, Chromium and its driver (the
# browser test), a C compiler (the loopback shim of orthanc.py). Needs root; does nothing when all are installed.
#   bash sample-apps/pacs/install_debian_packages.sh
set -euo pipefail
PACKAGES=(orthanc orthanc-dicomweb chromium chromium-driver gcc libc6-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  # "install ok installed", not just known to dpkg (a removed package keeps its status with its config files)
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
# Debian's orthanc package starts a system service on every interface (port 8042) when installed: keep it off.
# orthanc.py starts its own, on loopback, when asked.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && added_policy=1
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
[ -z "$added_policy" ] || $SUDO rm -f "$policy"
