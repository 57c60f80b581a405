#!/usr/bin/env bash
# update-htmx.sh — vendor a pinned htmx release into static/assets/.
#
# Usage: scripts/update-htmx.sh [VERSION]
#
# VERSION defaults to the currently pinned version in static/assets/htmx.version
# (or DEFAULT_VERSION below if that file does not exist yet).
#
# The tarball is fetched with `npm pack`, verified against the registry's
# dist.integrity (sha512, base64) and then these files are written:
#   static/assets/htmx.min.js         (package/dist/htmx.min.js)
#   static/assets/htmx.LICENSE.txt    (package/LICENSE)
#   static/assets/htmx.version        (the version string)
#   static/assets/htmx.min.js.sha256  (sha256sum line for htmx.min.js)
# The Go test TestVendoredHTMXChecksum in package static checks that the
# embedded files stay consistent with each other.
set -euo pipefail

DEFAULT_VERSION="2.0.11"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assets_dir="${repo_root}/static/assets"
version_file="${assets_dir}/htmx.version"

if [[ $# -gt 1 ]]; then
	echo "usage: $0 [VERSION]" >&2
	exit 2
fi

if [[ $# -eq 1 && -n "$1" ]]; then
	version="$1"
elif [[ -s "${version_file}" ]]; then
	version="$(tr -d '[:space:]' <"${version_file}")"
else
	version="${DEFAULT_VERSION}"
fi

if [[ ! "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
	echo "error: invalid version '${version}' (expected e.g. 2.0.11)" >&2
	exit 2
fi

for tool in npm tar sha256sum openssl; do
	if ! command -v "${tool}" >/dev/null 2>&1; then
		echo "error: required tool '${tool}' not found in PATH" >&2
		exit 1
	fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

pkg="htmx.org@${version}"
echo "==> fetching ${pkg} metadata"
expected="$(npm view "${pkg}" dist.integrity)"
if [[ "${expected}" != sha512-* ]]; then
	echo "error: unexpected dist.integrity for ${pkg}: '${expected}'" >&2
	exit 1
fi

echo "==> npm pack ${pkg}"
tarball="$(cd "${tmp}" && npm pack --silent "${pkg}" | tail -n 1)"
tarball="${tmp}/${tarball}"
if [[ ! -f "${tarball}" ]]; then
	echo "error: npm pack did not produce a tarball" >&2
	exit 1
fi

actual="sha512-$(openssl dgst -sha512 -binary "${tarball}" | openssl base64 -A)"
if [[ "${actual}" != "${expected}" ]]; then
	echo "error: integrity mismatch for ${pkg}" >&2
	echo "  expected: ${expected}" >&2
	echo "  actual:   ${actual}" >&2
	exit 1
fi
echo "==> integrity OK (${expected})"

mkdir -p "${tmp}/x"
tar -xzf "${tarball}" -C "${tmp}/x" package/dist/htmx.min.js package/LICENSE

mkdir -p "${assets_dir}"
install -m 0644 "${tmp}/x/package/dist/htmx.min.js" "${assets_dir}/htmx.min.js"
install -m 0644 "${tmp}/x/package/LICENSE" "${assets_dir}/htmx.LICENSE.txt"
printf '%s\n' "${version}" >"${version_file}"
(cd "${assets_dir}" && sha256sum htmx.min.js >htmx.min.js.sha256)

echo "==> wrote:"
echo "    ${assets_dir}/htmx.min.js ($(wc -c <"${assets_dir}/htmx.min.js") bytes)"
echo "    ${assets_dir}/htmx.LICENSE.txt"
echo "    ${version_file}: ${version}"
echo "    ${assets_dir}/htmx.min.js.sha256: $(cat "${assets_dir}/htmx.min.js.sha256")"
echo "==> htmx ${version} vendored"
