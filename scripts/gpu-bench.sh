#!/usr/bin/env bash
# Runs kiln's bench on a machine with an NVIDIA GPU, from a binary built elsewhere:
#
#   cargo build --release --example bench --no-default-features \
#       --features wgpu,flex --target-dir /tmp/gpu-target
#   gzip -c /tmp/gpu-target/release/examples/bench > .gpubin/bench.gz   # ~20 MB; then there:
#   gunzip -c .gpubin/bench.gz > /tmp/bench && chmod +x /tmp/bench
#   BACKENDS=wgpu,flex OUT=results bash scripts/gpu-bench.sh /tmp/bench
#
# wgpu needs the Vulkan loader there (the device README's .gl debs); with `cuda` instead of
# `wgpu` the same works on a machine that can build cubecl-cuda (its LLVM bundle is downloaded
# at build time, which this project's machines cannot: docs/backends.md). The PyTorch columns
# run on the GPU (`--torch-device cuda`); flex runs on the machine's CPU cores.
set -uo pipefail
bin=${1:?usage: gpu-bench.sh BENCH_BINARY}
out=${OUT:-target/bench-gpu}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
nvrtc=$(python3 -c 'import nvidia.cuda_nvrtc, os; print(os.path.join(os.path.dirname(nvidia.cuda_nvrtc.__file__), "lib"))' 2>/dev/null) \
  && export LD_LIBRARY_PATH="$nvrtc:$LD_LIBRARY_PATH"
export KILN_BENCH_PYTHON_DIR="$PWD/bench/python"
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' | tee -a "$out/gpu.txt"
"$bin" --workloads "${WORKLOADS:-w1,w2}" --backends "${BACKENDS:-cuda,flex}" \
  --seconds "${SECONDS_EACH:-5}" --torch-device cuda --out-dir "$out" 2>&1 | tee "$out/bench.log"
