#!/usr/bin/env bash
# Run every device-dependent check on a GPU: the examples of the pages, the notebook, the README
# and the docstrings, and the unit tests, all with `pytest --device cuda`.
#
#   scripts/verify-gpu.sh                 # on a CUDA machine
#   scripts/verify-gpu.sh --device cpu    # the same run on the CPU (what CI does every time)
#
# It needs a Python with torch (CUDA build for --device cuda). The rest of the test stack is
# installed into a private folder, from wheels in .whl/ when that folder exists (for machines
# without a package index: make them with scripts/fetch-gpu-wheels.sh), else from PyPI.
# The site build and the browser tests do not depend on the device and run in `make test`.
# The verification record (verification-record.json) gains an entry per page that passed; when
# $OUT is set, the record and the log are copied there too.
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda
if [[ "${1:-}" == "--device" ]]; then device="$2"; shift 2; fi
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

if ! "$python" -c "import sybil, pytest, IPython, matplotlib, nbclient, ipykernel, PIL, yaml" 2>/dev/null; then
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
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"

status=0
set -o pipefail
"$python" -m pytest -p no:cacheprovider --device "$device" -rs \
  --ignore=tests/browser --deselect tests/test_site.py \
  docs README.md convdocs tests "$@" 2>&1 | tee /tmp/convdocs-verify-"$device".log || status=$?
if [[ -n "${OUT:-}" ]]; then
  cp verification-record.json /tmp/convdocs-verify-"$device".log "$OUT"/ || true
fi
exit "$status"
