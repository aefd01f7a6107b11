#!/usr/bin/env bash
# Build the C++ examples with the system g++: cpp/examples/score_events.cpp against the libtorch that ships in
# the `torch` wheel (headers from torch.utils.cpp_extension.include_paths(), libraries from torch/lib, rpath
# set so the program finds them without LD_LIBRARY_PATH), and cpp/examples/draw_images.cpp (the standard
# library only).
#
#   tools/build-cpp.sh [OUTDIR]     # default build/cpp; PYTHON=... picks the interpreter, CXX=... the compiler
#
# Rebuilds a program only when it is older than its source or a header. Exits 1 with a one-line reason when
# g++, Python or torch is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
outdir="${1:-$root/build/cpp}"
python="${PYTHON:-python}"
cxx="${CXX:-g++}"

command -v "$cxx" >/dev/null || { echo "build-cpp: no C++ compiler '$cxx' (install g++ >= 9, or set CXX)" >&2; exit 1; }
command -v "$python" >/dev/null || { echo "build-cpp: no '$python' (activate the environment with torch, or set PYTHON)" >&2; exit 1; }
paths="$("$python" - <<'EOF' 2>/dev/null
import os, torch, torch.utils.cpp_extension as ext
print(os.path.join(os.path.dirname(torch.__file__), "lib"))
print(int(torch._C._GLIBCXX_USE_CXX11_ABI))
print(" ".join(ext.include_paths()))
EOF
)" || { echo "build-cpp: '$python' cannot import torch (pip install torch)" >&2; exit 1; }
lib="$(sed -n 1p <<<"$paths")"
abi="$(sed -n 2p <<<"$paths")"
includes="$(sed -n 3p <<<"$paths")"
[ -f "$lib/libtorch_cpu.so" ] || { echo "build-cpp: no libtorch_cpu.so in $lib (a torch wheel without libtorch?)" >&2; exit 1; }
mkdir -p "$outdir"

# Whether $1 is missing or older than its source $2 or any header.
stale() {
    [ -x "$1" ] || return 0
    local s
    for s in "$2" "$root"/cpp/include/detcnn/*.hpp "$root"/cpp/examples/*.hpp; do [ "$s" -nt "$1" ] && return 0; done
    return 1
}

# No -ffast-math: the images reproduce Python's sums only in Python's order.
common=(-std=c++17 -O2 -ffp-contract=off -Wall -I"$root/cpp/include")
build() {  # build OUTPUT SOURCE EXTRA-FLAGS...
    local out="$1" src="$2"
    shift 2
    if ! stale "$out" "$src"; then echo "build-cpp: $out is up to date"; return; fi
    "$cxx" "${common[@]}" "$src" -o "$out.tmp.$$" "$@"
    mv "$out.tmp.$$" "$out"
    echo "build-cpp: built $out"
}

build "$outdir/draw_images" "$root/cpp/examples/draw_images.cpp"
torch_flags=(-D_GLIBCXX_USE_CXX11_ABI="$abi")
for inc in $includes; do torch_flags+=(-isystem "$inc"); done
build "$outdir/score_events" "$root/cpp/examples/score_events.cpp" "${torch_flags[@]}" \
    -L"$lib" -Wl,-rpath,"$lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed
