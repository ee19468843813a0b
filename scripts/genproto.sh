#!/usr/bin/env bash
# Regenerates the Go code for every .proto under proto/. protoc comes from the
# system (Debian: protobuf-compiler); the Go plugins are pinned in go.mod as
# tools, so every machine generates byte-identical output.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
# Generate into a scratch tree and swap it in only when protoc succeeds, so a
# .proto with an error never leaves the tree without its generated code.
out="$bin/out"
mkdir -p "$out"
PATH="$bin:$PATH" protoc -I proto \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  $(find proto -name '*.proto' | sort)
find proto -name '*.pb.go' -delete
(cd "$out" && find . -name '*.pb.go' -print0) | while IFS= read -r -d '' f; do
	cp "$out/$f" "proto/$f"
done
