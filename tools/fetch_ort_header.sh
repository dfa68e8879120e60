#!/bin/sh
# Fetch ONNX Runtime's C API header (onnxruntime_c_api.h) from Debian trixie's libonnxruntime-dev
# and unpack only the headers into DEST (default: <source tree>/build/ort/include).
# No PyPI wheel ships the header. This uses a scratch apt configuration in a temp dir (trixie added
# next to the machine's own mirror); the system's apt configuration is never modified.
# apt-get update/download need root (the Makefile runs this with sudo when not root).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:-"$HERE/../build/ort/include"}
if [ -f "$DEST/onnxruntime_c_api.h" ]; then
  echo "fetch_ort_header: $DEST/onnxruntime_c_api.h already present"; exit 0
fi
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
  echo "fetch_ort_header: needs apt-get and dpkg-deb (Debian/Ubuntu); otherwise set RTCORE_ORT_INCLUDE to a folder holding onnxruntime_c_api.h" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/parts" "$T/lists/partial" "$T/cache/archives/partial"
uris=""
[ -f /etc/apt/sources.list.d/debian.sources ] && \
  uris=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
[ -n "$uris" ] || uris=http://deb.debian.org/debian
printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$uris" >"$T/parts/trixie.sources"
O="-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=$T/parts -o Dir::State::Lists=$T/lists -o Dir::Cache=$T/cache"
# shellcheck disable=SC2086
apt-get $O update -qq 2>&1 | grep -v -e "unsandboxed" -e "^$" >&2 || true
# shellcheck disable=SC2086
(cd "$T" && apt-get $O download -qq libonnxruntime-dev 2>&1 | grep -v -e "unsandboxed" >&2 || true)
deb=$(ls "$T"/libonnxruntime-dev_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "fetch_ort_header: could not download libonnxruntime-dev from Debian trixie ($uris)" >&2; exit 1; }
dpkg-deb -x "$deb" "$T/x"
[ -f "$T/x/usr/include/onnxruntime/onnxruntime_c_api.h" ] || {
  echo "fetch_ort_header: $(basename "$deb") has no onnxruntime_c_api.h" >&2; exit 1; }
mkdir -p "$DEST"
cp "$T"/x/usr/include/onnxruntime/*.h "$DEST"/
echo "fetch_ort_header: $(basename "$deb") -> $DEST"
