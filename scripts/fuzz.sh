#!/usr/bin/env bash
# Runs every fuzz target in the tree for a short time, one at a time:
# go test -fuzz takes one target of one package per run.
#
#   scripts/fuzz.sh [dir ...]     # default: the whole module
#   FUZZTIME=1m scripts/fuzz.sh ./agent
#
# Targets are found with grep (func FuzzXxx in *_test.go), skipping vendor/,
# testdata/, bin/, var/ and directories starting with '.' or '_'. A target
# that is not built on this GOOS is reported as skipped. A failing input
# is written by go test to <pkg>/testdata/fuzz/<FuzzXxx>/; commit it with the
# fix so it stays a regression test.
# Ends with: fuzz: N passed, N failed, N skipped
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
(($# > 0)) || set -- .

roots=()
for r in "$@"; do
	if [[ ! -d $r ]]; then
		echo "fuzz: $r is not a directory; skipped" >&2
		continue
	fi
	[[ $r == /* || $r == . || $r == ./* || $r == ../* ]] || r=./$r
	roots+=("$r")
done

targets=()
if ((${#roots[@]} > 0)); then
	# Lines "<dir> <FuzzName>". A fuzz target is Fuzz alone or Fuzz followed
	# by a character that is not a lower-case letter (as for Test).
	mapfile -t targets < <(
		find "${roots[@]}" \( -name vendor -o -name testdata -o -name '.?*' -o -name '_*' \
			-o -path ./bin -o -path ./var \) -prune -o -type f -name '*_test.go' -print0 |
			xargs -0r grep -HEo '^func Fuzz[A-Za-z0-9_]*\(' |
			sed -E 's#^(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#' |
			awk '$2 == "Fuzz" || substr($2, 5, 1) !~ /[a-z]/' |
			sort -u || true
	)
fi

passed=0 failed=0 skipped=0
failures=()

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets found"
fi
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	# go test -fuzz passes quietly when the target is not built on this GOOS
	# (say, in a _windows_test.go file), so ask first.
	if list=$(go test -list "^${name}\$" "$dir" 2>&1) && ! grep -qx "$name" <<<"$list"; then
		echo "fuzz: $name in $dir is not built on $(go env GOOS); skipped"
		skipped=$((skipped + 1))
		continue
	fi
	echo "fuzz: $name in $dir for $fuzztime"
	log=$(mktemp)
	ok=0
	for attempt in 1 2; do
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$dir" 2>&1 | tee "$log"; then
			ok=1
			break
		fi
		# The fuzzing engine sometimes ends a run with a bare "context
		# deadline exceeded" when -fuzztime expires while a worker is busy;
		# no input failed (none was written). Run once more; a real failure
		# names its input.
		if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			break
		fi
		echo "fuzz: $name: the engine stopped at its deadline without a failing input; running again"
	done
	rm -f "$log"
	if ((ok)); then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name in $dir")
	fi
done

for f in "${failures[@]}"; do
	echo "fuzz: FAIL $f" >&2
done
echo "fuzz: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
