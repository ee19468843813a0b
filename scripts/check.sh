#!/usr/bin/env bash
# make check: the static checks CI runs before the tests. Every step runs even
# when an earlier one fails; the script lists the failed steps at the end and
# exits non-zero if there was any.
#
#   scripts/check.sh              # all steps
#   scripts/check.sh vet proto    # only the named steps
#
# Steps: gofmt vet vet-windows build-darwin staticcheck staticcheck-windows
# proto tidy boundaries. protoc must be installed (make tools).
set -uo pipefail
cd "$(dirname "$0")/.." || exit

failed=()

# step NAME HINT CMD...: runs CMD, and on failure records NAME and prints HINT.
step() {
	local name=$1 hint=$2
	shift 2
	echo "==> $name"
	if "$@"; then
		return 0
	fi
	echo "FAIL $name: $hint" >&2
	failed+=("$name")
}

# Go files that belong to the module, minus generated protobuf code.
go_files() {
	find . \( -name vendor -o -name testdata -o -name '.?*' -o -name '_*' \
		-o -path ./bin -o -path ./var \) -prune -o -type f -name '*.go' ! -name '*.pb.go' -print0
}

check_gofmt() {
	local out
	out=$(go_files | xargs -0r gofmt -l) || return 1
	[[ -z $out ]] && return 0
	echo "$out"
	return 1
}

# staticcheck_for GOOS runs staticcheck (pinned in go.mod) on the module as
# built for GOOS. The tool binary itself is built for this machine: with GOOS
# set, `go tool staticcheck` would build a binary for the target instead.
staticcheck_for() {
	local bin
	bin=$(go tool -n staticcheck) || return 1
	GOOS=$1 "$bin" ./...
}

# check_proto regenerates the code from proto/ in a scratch copy (so it never
# rewrites files in the work tree) and compares it with proto/, then makes
# sure every generated file is tracked by git.
check_proto() {
	local tmp rc=0 untracked
	tmp=$(mktemp -d) || return 1
	mkdir -p "$tmp/scripts"
	cp go.mod go.sum "$tmp/" &&
		cp scripts/genproto.sh "$tmp/scripts/" &&
		cp -R proto "$tmp/" &&
		bash "$tmp/scripts/genproto.sh" || rc=1
	if ((rc == 0)) && ! diff -ru proto "$tmp/proto"; then
		echo "generated code differs from what proto/**/*.proto gives (diff above: proto/ vs regenerated)"
		rc=1
	fi
	rm -rf "$tmp"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		untracked=$(git ls-files --others --exclude-standard -- 'proto/*.pb.go' 'proto/*.proto')
		if [[ -n $untracked ]]; then
			echo "files under proto/ not tracked by git:"
			echo "$untracked"
			rc=1
		fi
	fi
	return "$rc"
}

steps=(gofmt vet vet-windows build-darwin staticcheck staticcheck-windows proto tidy boundaries)
for s in "$@"; do
	[[ " ${steps[*]} " == *" $s "* ]] || {
		echo "check: unknown step $s (steps: ${steps[*]})" >&2
		exit 2
	}
done
selected=" $* "
# run NAME HINT CMD...: runs the step if no steps were named or NAME was.
run() {
	if [[ $selected == "  " || $selected == *" $1 "* ]]; then
		step "$@"
	fi
}

run gofmt "files above are not gofmt'd; run: gofmt -w <file>" \
	check_gofmt
run vet "go vet found problems (GOOS=linux)" \
	go vet ./...
run vet-windows "go vet found problems in the Windows build (GOOS=windows)" \
	env GOOS=windows go vet ./...
run build-darwin "the module does not build for GOOS=darwin; give the platform-specific file an _other.go fallback" \
	env GOOS=darwin go build ./...
run staticcheck "staticcheck found problems (GOOS=linux)" \
	staticcheck_for linux
run staticcheck-windows "staticcheck found problems in the Windows build (GOOS=windows)" \
	staticcheck_for windows
run proto "generated protobuf code is stale or untracked; run: make proto, then commit proto/" \
	check_proto
run tidy "go.mod/go.sum are not tidy (diff above); run: go mod tidy" \
	go mod tidy -diff
run boundaries "a package imports across a forbidden boundary (see above and scripts/check-boundaries.sh)" \
	bash scripts/check-boundaries.sh

if ((${#failed[@]} > 0)); then
	echo "check: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "check: ok"
