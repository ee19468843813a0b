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
find proto -name '*.pb.go' -delete
PATH="$bin:$PATH" protoc -I proto \
  --go_out=proto --go_opt=paths=source_relative \
  --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
  $(find proto -name '*.proto' | sort)
