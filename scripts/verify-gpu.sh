#!/usr/bin/env bash
# Run every device-dependent check on a GPU: the examples of the pages, the notebook, the README
# and the docstrings, and the unit and machinery tests, all with `pytest --device cuda`.
#
#   scripts/verify-gpu.sh                        # on a CUDA machine
#   scripts/verify-gpu.sh --update-gpu-tabs      # first write the GPU tabs of the pages, then verify
#   scripts/verify-gpu.sh --device cpu           # the same run on the CPU
#
# It needs a Python with torch (a CUDA build for --device cuda). The rest of the test stack is
# installed into a private folder, from wheels in .whl/ when that folder exists (for machines
# without a package index: make them with scripts/fetch-gpu-wheels.sh), else from PyPI. Where
# convdocs is not installed (no pytest11 entry point), the plugin is loaded with PYTEST_PLUGINS.
# The site build and the browser tests do not depend on the device and run in `make test`.
#
# --update-gpu-tabs runs `pytest --update-outputs --device cuda` first: a GPU run rewrites only
# the blocks of the GPU tabs (outputs that truly differ by device), never a shared output. The
# verification record (verification-record.json) then gains an entry per document that passed.
# When $OUT is set, the record, the log and every file the update rewrote are copied there.
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda
update=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --update-gpu-tabs) update=1; shift ;;
    *) break ;;
  esac
done
python=${PYTHON:-python3}
target=${CONVDOCS_GPU_SITE:-/tmp/convdocs-gpu-site}

"$python" - "$device" <<'PY'
import sys, torch
device = sys.argv[1]
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
if device.startswith("cuda"):
    if not torch.cuda.is_available():
        sys.exit(f"--device {device}: this torch has no CUDA device")
    print("GPU:", torch.cuda.get_device_name(0))
    print("cuDNN TF32 for convolutions:", torch.backends.cudnn.allow_tf32)
PY

if ! "$python" -c "import sybil, pytest, IPython, matplotlib, nbformat, nbclient, ipykernel, PIL, yaml" 2>/dev/null; then
  if [[ -d .whl ]]; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$target" .whl/*.whl
  else
    grep -v '^torch==' requirements.lock > /tmp/convdocs-gpu-constraints.txt
    "$python" -m pip install -q --target "$target" -c /tmp/convdocs-gpu-constraints.txt \
      $(grep -v '^[#-]' requirements-gpu.txt)
  fi
  export PYTHONPATH="$target${PYTHONPATH:+:$PYTHONPATH}"
  export JUPYTER_PATH="$target/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
fi
if [[ -d .whl/fonts ]] && ! fc-list 2>/dev/null | grep -q "Noto Sans CJK SC"; then
  # the Chinese figures' font, carried by scripts/fetch-gpu-wheels.sh; matplotlib finds it in
  # ~/.local/share/fonts once it rebuilds its font cache (a fresh MPLCONFIGDIR)
  mkdir -p "$HOME/.local/share/fonts" && cp .whl/fonts/* "$HOME/.local/share/fonts/"
  export MPLCONFIGDIR=/tmp/convdocs-gpu-matplotlib
fi
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"  # absolute: tests run pytest in other folders
if ! "$python" -c "
import importlib.metadata as m, sys
sys.exit(not any(e.value == 'convdocs.verify.pytest_plugin' for e in m.entry_points(group='pytest11')))"; then
  export PYTEST_PLUGINS=convdocs.verify.pytest_plugin  # convdocs is on PYTHONPATH, not installed
fi

log=/tmp/convdocs-verify-"$device".log
: > "$log"
if [[ "$update" == 1 ]]; then
  touch /tmp/convdocs-before-update
  sleep 1
  # The update mode refuses to run when CI is set; here rewriting the GPU tabs is the point.
  env -u CI "$python" -m pytest -p no:cacheprovider --device "$device" --update-outputs -q \
    docs README.md convdocs 2>&1 | tee -a "$log" || true
  mapfile -t rewritten < <(find docs README.md convdocs -type f -newer /tmp/convdocs-before-update \
    ! -name '*.pyc' ! -path '*/__pycache__/*')
  echo "rewritten by the update: ${rewritten[*]:-(none)}" | tee -a "$log"
  if [[ -n "${OUT:-}" && ${#rewritten[@]} -gt 0 ]]; then
    cp --parents "${rewritten[@]}" "$OUT"/
  fi
fi

status=0
"$python" -m pytest -p no:cacheprovider --device "$device" -rs \
  --ignore=tests/browser --deselect tests/test_site.py \
  docs README.md convdocs tests "$@" 2>&1 | tee -a "$log" || status=$?
if [[ -n "${OUT:-}" ]]; then
  cp verification-record.json "$log" "$OUT"/ || true
fi
exit "$status"
