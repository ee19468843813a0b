#!/usr/bin/env bash
# Installs the system packages the build needs, if they are missing:
#   protoc and the well-known .proto files (protobuf-compiler, libprotobuf-dev)
#   for make proto and make check.
# Go tools (staticcheck, protoc-gen-go, protoc-gen-go-grpc) are pinned in
# go.mod and run with `go tool`, so they need no install step.
# Uses apt-get as root, or through sudo when not root.
set -euo pipefail

missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
# protoc finds google/protobuf/*.proto in <prefix>/include next to its binary.
if command -v protoc >/dev/null; then
	prefix=$(dirname "$(dirname "$(command -v protoc)")")
	[[ -f "$prefix/include/google/protobuf/timestamp.proto" ]] || missing+=(libprotobuf-dev)
else
	missing+=(libprotobuf-dev)
fi

if ((${#missing[@]} == 0)); then
	echo "tools: protoc $(protoc --version | awk '{print $2}') present"
	exit 0
fi

if ! command -v apt-get >/dev/null; then
	echo "tools: missing ${missing[*]} and no apt-get here; install them by hand" >&2
	exit 1
fi
sudo=()
if ((EUID != 0)); then
	if ! command -v sudo >/dev/null; then
		echo "tools: missing ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q </dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "tools: protoc $(protoc --version | awk '{print $2}') installed"
