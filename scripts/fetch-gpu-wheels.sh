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
