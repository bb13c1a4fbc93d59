#!/usr/bin/env bash
# Sets up everything the harness needs on a Debian 12 machine (run as root for system packages),
# then runs what was asked:
#   ./bootstrap.sh run [vgi run options]   -> the default campaign on the embedded lab
#   ./bootstrap.sh test [pytest options]   -> the harness's own test suite
#   ./bootstrap.sh setup                   -> only the set-up
# Idempotent: a second call skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-setup}"; shift || true
VENV="${VGI_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }

apt_packages=()
command -v ip >/dev/null || apt_packages+=(iproute2)
command -v tshark >/dev/null || apt_packages+=(tshark)
command -v dumpcap >/dev/null || apt_packages+=(tshark)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_packages+=(python3-venv)
# WeasyPrint (`vgi report --pdf`) loads Pango at run time; DejaVu is the reports' font.
ldconfig -p 2>/dev/null | grep -q 'libpango-1\.0\.so\.0' || apt_packages+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1\.0\.so\.0' || apt_packages+=(libpangoft2-1.0-0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_packages+=(fonts-dejavu-core)
if [ "$mode" = test ]; then
  # Java runs josev's EXIficient codec in the interop tests.
  command -v java >/dev/null || apt_packages+=(openjdk-17-jre-headless)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing system packages (${apt_packages[*]}); run as root or install them first"; exit 1
  fi
  say "installing system packages: ${apt_packages[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean true" | debconf-set-selections 2>/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { say "Python >= 3.11 is required ($PYTHON is $("$PYTHON" -V 2>&1))"; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
extras=""
[ "$mode" = test ] && extras="[test]"
stamp="$VENV/.vgi-installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing the harness and its dependencies into $VENV"
  # pip's and the build backend's notes (e.g. setuptools' "Editable installation" banner) go to a log,
  # shown only when the installation fails.
  log="$VENV/pip-install.log"
  if ! { "$VENV/bin/python" -m pip install -q --upgrade pip && "$VENV/bin/python" -m pip install -q -e ".$extras"; } \
      >"$log" 2>&1; then
    cat "$log" >&2; say "installing the harness failed (log: $log)"; exit 1
  fi
  touch "$stamp"
fi
# Byte-compile once: where PYTHONDONTWRITEBYTECODE is set, every process (each reference device) would
# otherwise recompile the large generated EXI grammar tables on import.
"$VENV/bin/python" -m compileall -q -j 0 harness capture reports steps >/dev/null 2>&1 || true

case "$mode" in
  setup) say "ready: $VENV/bin/vgi --help" ;;
  run) exec "$VENV/bin/vgi" run "$@" ;;
  test)
    # The layer contract of DESIGN.md (pyproject [tool.importlinter]) first: a broken layer fails fast.
    if ! "$VENV/bin/lint-imports" --no-cache --no-logo >"$VENV/lint-imports.log" 2>&1; then
      cat "$VENV/lint-imports.log" >&2; say "import layers: contract broken (see above)"; exit 1
    fi
    say "import layers: $(grep -E '^Contracts:' "$VENV/lint-imports.log" || echo 'checked')"
    # On pytest-xdist workers: the tests that open benches run one after another on one of them (their
    # `vgi run` campaigns run parallel benches of their own), the unit tests on the rest. VGI_TEST_JOBS
    # sets the number of workers; `-n 0` among the options runs everything in this one process.
    exec "$VENV/bin/python" -m pytest -n "${VGI_TEST_JOBS:-2}" "$@" ;;
  *) say "unknown mode '$mode' (setup, run or test)"; exit 2 ;;
esac
