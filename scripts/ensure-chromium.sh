#!/usr/bin/env bash
# Print the path of a working Chromium binary for headless tests (one line on
# stdout; everything else goes to stderr).
#
# Order: $CHROME_PATH, then chromium / chromium-browser / google-chrome on PATH,
# then /usr/bin/chromium. If none works and we are root on a Debian-like
# system, install Debian's `chromium` package with apt-get. We never download a
# browser any other way (no puppeteer/playwright downloads): CI machines only
# reach the Debian mirror, and a distro build gets security updates.
set -euo pipefail

log() { printf 'ensure-chromium: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

how_to_install="install it with 'apt-get install chromium' (as root), or set CHROME_PATH to a Chromium/Chrome binary"

# works PATH: true if the binary starts and reports its version. A broken
# install (missing libs, Ubuntu's snap stub without snapd) fails here rather
# than in the middle of a test run. timeout guards against a hung wrapper.
# Only the last line is logged on success: Debian's launcher script may print
# harmless shell noise before the version.
works() {
	local out
	if out=$(timeout 60 "$1" --version 2>&1 </dev/null); then
		log "using $1 (${out##*$'\n'})"
		return 0
	fi
	log "warning: '$1 --version' failed: ${out:-no output}"
	return 1
}

# An explicit CHROME_PATH is the user's choice: honour it or fail, never
# silently fall back to another browser.
if [[ -n "${CHROME_PATH:-}" ]]; then
	[[ -x "$CHROME_PATH" && ! -d "$CHROME_PATH" ]] || die "CHROME_PATH=$CHROME_PATH is not an executable file; fix it or unset it"
	works "$CHROME_PATH" || die "CHROME_PATH=$CHROME_PATH does not run; fix it or unset it"
	printf '%s\n' "$CHROME_PATH"
	exit 0
fi

find_chromium() {
	local name path
	for name in chromium chromium-browser google-chrome /usr/bin/chromium; do
		path=$(command -v "$name" 2>/dev/null) || continue
		if works "$path"; then
			printf '%s\n' "$path"
			return 0
		fi
	done
	return 1
}

if find_chromium; then
	exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	die "no usable Chromium found; $how_to_install"
fi

# Non-interactive and quiet. dpkg prints ~100 "Unpacking/Setting up" lines
# even with -qq, so apt's output goes to a log that is shown (on stderr) only
# on failure; stdout stays the single path line. The lock timeout waits for a
# concurrent apt/dpkg instead of failing straight away.
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
apt_opts=(-qq -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${apt_opts[@]}" chromium >"$apt_log" 2>&1
}
apt_failed() {
	tail -n 20 "$apt_log" >&2
	die "$1; $how_to_install"
}

log "no Chromium found; installing Debian's chromium package with apt-get (this can take a few minutes)"
if ! apt_install; then
	# Fresh machines/containers often have no package lists yet.
	log "install failed ($(tail -n 1 "$apt_log")); running apt-get update and retrying"
	apt-get update "${apt_opts[@]}" >"$apt_log" 2>&1 || apt_failed "apt-get update failed"
	apt_install || apt_failed "apt-get install chromium failed"
fi
log "installed chromium"

find_chromium || die "chromium was installed but does not run (see messages above); $how_to_install"
