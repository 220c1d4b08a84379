#!/usr/bin/env bash
# Download the wheels scripts/verify-gpu.sh needs into .whl/, for an x86-64 GPU machine without
# a package index (Python version as the first argument, default 3.12). torch is not included.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-3.12}
grep -v '^torch==' requirements.lock > /tmp/convdocs-gpu-constraints.txt
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64 any; do
  platforms+=(--platform "$p")
done
python3 -m pip download -q --only-binary=:all: --python-version "$version" --implementation cp \
  "${platforms[@]}" -c /tmp/convdocs-gpu-constraints.txt -d .whl $(grep -v '^[#-]' requirements-gpu.txt)
# torch (and its CUDA wheels) come with the GPU machine, and so does numpy; leaving numpy out
# keeps .whl small enough to travel to a lent GPU machine (64 MiB in all).
rm -f .whl/torch-* .whl/nvidia_* .whl/triton-* .whl/numpy-*
ls .whl | wc -l
# The Chinese pages' figures are drawn in Noto Sans CJK SC (fonts-noto-cjk, which `make test`
# installs). A GPU machine has no apt: carry the glyphs those figures use, as a subset of this
# machine's font under the same name (a few KB, not the 19 MB collection), in .whl/fonts/.
mkdir -p .whl/fonts
text=$(python3 - <<'PY'
import pathlib, re
chars = set()
for page in pathlib.Path("docs").glob("*.zh.md"):
    chars |= {c for c in page.read_text(encoding="utf-8") if ord(c) > 0x2E7F}
print("".join(sorted(chars)) + "".join(chr(c) for c in range(0x20, 0x7F)))
PY
)
.venv/bin/python -m fontTools.subset /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc --font-number=2 \
  --text="$text" --layout-features='*' --output-file=.whl/fonts/NotoSansCJKsc-subset.otf
