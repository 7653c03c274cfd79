#!/bin/sh
# install-chromium.sh installs Debian's chromium (used by internal/report's
# headless browser test) when /usr/bin/chromium is missing. It is idempotent:
# a second run with chromium present does nothing. Needs root or sudo.
set -eu

if [ -x /usr/bin/chromium ]; then
	echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-chromium.sh: need root or sudo to install chromium" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# fonts-dejavu-core gives the headless screenshot real glyphs.
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core

/usr/bin/chromium --version
