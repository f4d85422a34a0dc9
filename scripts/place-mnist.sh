#!/usr/bin/env bash
# Places MNIST's IDX files where burn-dataset 0.22 looks for them
# ($XDG_CACHE_HOME/burn-dataset/mnist/{train,test}/, else ~/.cache/...), decompressed,
# so that kiln's examples find MNIST without --data-dir and burn-dataset never downloads.
#
# usage: scripts/place-mnist.sh DIR   (DIR holds mnist/*-idx?-ubyte.gz, e.g. ../shared/data)
set -euo pipefail
src="${1:?usage: $0 DIR-with-mnist/}"
[ -d "$src/mnist" ] && src="$src/mnist"
cache="${XDG_CACHE_HOME:-}"
case "$cache" in /*) ;; *) cache="$HOME/.cache" ;; esac
dest="$cache/burn-dataset/mnist"
mkdir -p "$dest/train" "$dest/test"
place() { # $1 file stem, $2 split folder
  local from="$src/$1.gz" to="$dest/$2/$1"
  if [ -f "$from" ]; then gzip -dc "$from" > "$to.tmp" && mv "$to.tmp" "$to"
  elif [ -f "$src/$1" ]; then cp "$src/$1" "$to.tmp" && mv "$to.tmp" "$to"
  else echo "error: $src has no $1[.gz]" >&2; exit 1; fi
}
place train-images-idx3-ubyte train
place train-labels-idx1-ubyte train
place t10k-images-idx3-ubyte test
place t10k-labels-idx1-ubyte test
echo "MNIST placed in $dest"
