#!/usr/bin/env bash
# Checks the package boundaries that keep the layout the architecture
# (STYLE.md item 1). For each GOOS in BOUNDARY_GOOS (default: linux windows)
# it lists the module's packages and their imports with go list, follows
# imports through the module's own packages (so indirect imports count), and
# prints each violation as
#   A imports B (via A -> X -> B) [GOOS...]
# Imports of test files are not checked: tests may use controllertest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The rules, one a line:  FROM -> DENIED... [except ALLOWED...]
# Patterns are relative to the module path. "x/..." is x and every package
# below it, "..." is every package of the module, anything else is exactly
# one package. A package matching FROM must not import a package of this
# module that matches a DENIED pattern and no ALLOWED one. Packages outside
# the module (standard library, third party) are never matched.
RULES='
agent/...           -> controller/... console/...
controller/...      -> agent/... console/...
console/client/...  -> ... except proto/... console/client/...
internal/...        -> agent/... controller/... console/... plugins/...
plugins/sdk/...     -> agent/... controller/... console/...
'

read -r -a gooses <<<"${BOUNDARY_GOOS:-linux windows}"
module=$(go list -m)

found=""
for goos in "${gooses[@]}"; do
	# -e: report what can be read even while some package does not compile.
	graph=$(GOOS=$goos go list -e -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
	found+=$(awk -v module="$module" -v rules="$RULES" -v goos="$goos" '
		function matches(pkg, pat,   base) {
			if (pat == "...")
				return pkg == module || index(pkg, module "/") == 1
			if (pat ~ /\/\.\.\.$/) {
				base = module "/" substr(pat, 1, length(pat) - 4)
				return pkg == base || index(pkg, base "/") == 1
			}
			return pkg == module "/" pat
		}
		function anyof(pkg, list,   n, i, pats) {
			n = split(list, pats, " ")
			for (i = 1; i <= n; i++)
				if (matches(pkg, pats[i]))
					return 1
			return 0
		}
		function short(pkg) {
			return index(pkg, module "/") == 1 ? substr(pkg, length(module) + 2) : pkg
		}
		BEGIN {
			nl = split(rules, lines, "\n")
			for (l = 1; l <= nl; l++) {
				line = lines[l]
				gsub(/^[ \t]+|[ \t]+$/, "", line)
				if (line == "" || line ~ /^#/)
					continue
				nf = split(line, f, /[ \t]+/)
				if (nf < 3 || f[2] != "->") {
					print "check-boundaries: bad rule: " line > "/dev/stderr"
					bad = 1
					exit 2
				}
				nr++
				from[nr] = f[1]; deny[nr] = ""; allow[nr] = ""
				mode = "deny"
				for (i = 3; i <= nf; i++) {
					if (f[i] == "except") mode = "allow"
					else if (mode == "deny") deny[nr] = deny[nr] " " f[i]
					else allow[nr] = allow[nr] " " f[i]
				}
			}
		}
		{
			pkgs[++np] = $1
			adj[$1] = ""
			for (i = 2; i <= NF; i++)
				if ($i == module || index($i, module "/") == 1)
					adj[$1] = adj[$1] " " $i
		}
		END {
			if (bad)
				exit 2
			for (p = 1; p <= np; p++) {
				a = pkgs[p]
				for (r = 1; r <= nr; r++) {
					if (!matches(a, from[r]))
						continue
					# Breadth-first through the module packages a imports.
					delete parent
					parent[a] = ""
					head = 1; tail = 1; queue[1] = a
					while (head <= tail) {
						x = queue[head++]
						n = split(adj[x], next_, " ")
						for (i = 1; i <= n; i++) {
							b = next_[i]
							if (b in parent)
								continue
							parent[b] = x
							if (!anyof(b, deny[r]) || anyof(b, allow[r])) {
								queue[++tail] = b
								continue
							}
							# Report b and do not look past it: what b
							# imports goes away with the import of b.
							via = ""
							if (parent[b] != a) {
								via = short(b)
								for (y = parent[b]; y != ""; y = parent[y])
									via = short(y) " -> " via
								via = " (via " via ")"
							}
							printf "%s imports %s%s\t%s\n", a, b, via, goos
						}
					}
				}
			}
		}
	' <<<"$graph")$'\n'
done

# One line per violation, naming the GOOS values it was found for.
violations=$(sort -u <<<"$found" | awk -F '\t' 'NF == 2 {
	if ($1 in os) os[$1] = os[$1] " " $2
	else { order[++n] = $1; os[$1] = $2 }
} END {
	for (i = 1; i <= n; i++) print order[i] " [" os[order[i]] "]"
}' | sort)

if [[ -n $violations ]]; then
	echo "$violations"
	echo "check-boundaries: $(wc -l <<<"$violations") forbidden import(s); the rules are at the top of scripts/check-boundaries.sh" >&2
	exit 1
fi
echo "check-boundaries: ok (${gooses[*]})"
