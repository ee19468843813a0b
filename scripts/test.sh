#!/usr/bin/env bash
# Runs go test on the given packages (default ./...), then a short run of
# every fuzz target (scripts/fuzz.sh), and ends with one closing line:
#   test: N passed, N failed, N skipped
# counting tests, subtests and fuzz runs.
#
# TESTFLAGS (default "-race -count=1 -timeout 15m") and FUZZTIME are passed
# through; set VIGIL_SLOW_TESTS=1 to run the slow suites (make test does).
# go test runs with -v so that tests, subtests and skips can be counted.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a flags <<<"${TESTFLAGS:--race -count=1 -timeout 15m}"
(($# > 0)) || set -- ./...

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "go test ${flags[*]} $* (VIGIL_SLOW_TESTS=${VIGIL_SLOW_TESTS:-})"
rc=0
go test -v "${flags[@]}" "$@" 2>&1 | tee "$log" || rc=$?

count() { grep -Ec "$1" "$log" || true; }
passed=$(count '^ *--- PASS: ')
failed=$(count '^ *--- FAIL: ')
skipped=$(count '^ *--- SKIP: ')
# A package that does not build fails without a --- FAIL line; count it once.
broken=$(count '^FAIL[[:space:]].*\[(build|setup) failed\]$')
failed=$((failed + broken))
# So may a test binary that dies outside a test: never report 0 failed then.
if ((rc != 0 && failed == 0)); then
	failed=1
fi

if ((rc == 0)); then
	# Fuzz the directories the package patterns name: ./x/... -> ./x.
	if ! bash scripts/fuzz.sh "${@%/...}" 2>&1 | tee "$log"; then
		rc=1
	fi
	# fuzz.sh ends with its own "fuzz: N passed, N failed, N skipped" line.
	re='^fuzz: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'
	last=$(tail -n 1 "$log")
	if [[ $last =~ $re ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + BASH_REMATCH[3]))
	elif ((rc != 0)); then
		failed=$((failed + 1))
	fi
else
	echo "go test failed; fuzzing skipped"
fi

echo "test: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
