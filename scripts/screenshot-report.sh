#!/usr/bin/env bash
# Headless-browser screenshot of a report (for a person to look at; not part of CI).
# Usage: scripts/screenshot-report.sh OUT/reports/report.html report.png
set -euo pipefail
html=${1:-out/demo/run/reports/report.html}
png=${2:-report.png}
command -v chromium >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1800 \
  --screenshot="$png" "file://$(realpath "$html")" 2>/dev/null
echo "$png"
