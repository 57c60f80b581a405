#!/usr/bin/env bash
# update-htmx.sh — vendor pinned htmx releases into static/assets/.
#
# Usage: scripts/update-htmx.sh [VERSION...]
#
# Trellis vendors one release per supported major version:
#   htmx 2 → static/assets/        (the default, config htmx.version = 2)
#   htmx 4 → static/assets/htmx4/  (config htmx.version = 4)
# Each VERSION (e.g. 2.0.11 or 4.0.1) goes to the directory of its major
# version. A bare major version (2 or 4) re-vendors the version pinned in that
# directory's htmx.version. Without arguments every pinned version is
# re-vendored (useful to check that the committed files match the registry).
#
# Each tarball is fetched with `npm pack`, verified against the registry's
# dist.integrity (sha512, base64) and then these files are written into the
# major version's directory:
#   htmx.min.js         (package/dist/htmx.min.js)
#   htmx.LICENSE.txt    (package/LICENSE)
#   htmx.version        (the version string)
#   htmx.min.js.sha256  (sha256sum line for htmx.min.js)
# The Go test TestVendoredHTMX in package static checks that the embedded
# files of every major version stay consistent with each other.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets_root="${repo_root}/static/assets"

# assets_dir MAJOR prints the directory that holds htmx MAJOR.
assets_dir() {
	case "$1" in
	2) echo "${assets_root}" ;;
	4) echo "${assets_root}/htmx4" ;;
	*)
		echo "error: htmx $1 is not supported (Trellis vendors htmx 2 and htmx 4)" >&2
		return 1
		;;
	esac
}

# pinned MAJOR prints the version pinned for htmx MAJOR.
pinned() {
	local file
	file="$(assets_dir "$1")/htmx.version"
	if [[ ! -s "${file}" ]]; then
		echo "error: ${file} is missing; pass a full version such as $1.0.0" >&2
		return 1
	fi
	tr -d '[:space:]' <"${file}"
}

for tool in npm tar sha256sum openssl; do
	if ! command -v "${tool}" >/dev/null 2>&1; then
		echo "error: required tool '${tool}' not found in PATH" >&2
		exit 1
	fi
done

versions=()
if [[ $# -eq 0 ]]; then
	versions=("$(pinned 2)" "$(pinned 4)")
fi
for arg in "$@"; do
	if [[ "${arg}" =~ ^[0-9]+$ ]]; then
		versions+=("$(pinned "${arg}")")
	else
		versions+=("${arg}")
	fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# vendor VERSION fetches, verifies and installs one release.
vendor() {
	local version="$1"
	if [[ ! "${version}" =~ ^([0-9]+)\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
		echo "error: invalid version '${version}' (expected e.g. 2.0.11 or 4.0.1)" >&2
		exit 2
	fi
	local dir
	dir="$(assets_dir "${BASH_REMATCH[1]}")"
	local work="${tmp}/${version}"
	mkdir -p "${work}/x"

	local pkg="htmx.org@${version}"
	echo "==> fetching ${pkg} metadata"
	local expected
	expected="$(npm view "${pkg}" dist.integrity)"
	if [[ "${expected}" != sha512-* ]]; then
		echo "error: unexpected dist.integrity for ${pkg}: '${expected}'" >&2
		exit 1
	fi

	echo "==> npm pack ${pkg}"
	local tarball
	tarball="$(cd "${work}" && npm pack --silent "${pkg}" | tail -n 1)"
	tarball="${work}/${tarball}"
	if [[ ! -f "${tarball}" ]]; then
		echo "error: npm pack did not produce a tarball" >&2
		exit 1
	fi

	local actual
	actual="sha512-$(openssl dgst -sha512 -binary "${tarball}" | openssl base64 -A)"
	if [[ "${actual}" != "${expected}" ]]; then
		echo "error: integrity mismatch for ${pkg}" >&2
		echo "  expected: ${expected}" >&2
		echo "  actual:   ${actual}" >&2
		exit 1
	fi
	echo "==> integrity OK (${expected})"

	tar -xzf "${tarball}" -C "${work}/x" package/dist/htmx.min.js package/LICENSE

	mkdir -p "${dir}"
	install -m 0644 "${work}/x/package/dist/htmx.min.js" "${dir}/htmx.min.js"
	install -m 0644 "${work}/x/package/LICENSE" "${dir}/htmx.LICENSE.txt"
	printf '%s\n' "${version}" >"${dir}/htmx.version"
	(cd "${dir}" && sha256sum htmx.min.js >htmx.min.js.sha256)

	echo "==> wrote:"
	echo "    ${dir}/htmx.min.js ($(wc -c <"${dir}/htmx.min.js") bytes)"
	echo "    ${dir}/htmx.LICENSE.txt"
	echo "    ${dir}/htmx.version: ${version}"
	echo "    ${dir}/htmx.min.js.sha256: $(cat "${dir}/htmx.min.js.sha256")"
	echo "==> htmx ${version} vendored"
}

for v in "${versions[@]}"; do
	vendor "${v}"
done
