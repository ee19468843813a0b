package pkgupdate

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// Parameter names.
const (
	ParamRefresh    = "refresh"
	ParamSourceList = "source_list"
	ParamListsDir   = "lists_dir"
	ParamCacheDir   = "cache_dir"
	ParamManager    = "manager"
)

// parameterSpecs is the schema Info reports.
var parameterSpecs = []*sdk.ParameterSpec{
	{Name: ParamRefresh, Type: "bool", Description: "fetch fresh package metadata first (apt-get update, dnf makecache); default false"},
	{Name: ParamSourceList, Type: "string", Description: "apt only: absolute path of a sources.list to use instead of the system's"},
	{Name: ParamListsDir, Type: "string", Description: "apt only: absolute path of the package lists directory (Dir::State::Lists)"},
	{Name: ParamCacheDir, Type: "string", Description: "apt only: absolute path of the apt cache directory (Dir::Cache)"},
	{Name: ParamManager, Type: "string", Description: "auto, apt, dnf4 or dnf5; default auto"},
}

// ParamError is an invalid parameter.
type ParamError struct {
	// Name is the parameter.
	Name string
	// Reason says what is wrong with it.
	Reason string
}

func (e *ParamError) Error() string { return "parameter " + e.Name + ": " + e.Reason }

// params are the parsed Inspect parameters.
type params struct {
	manager Manager
	opts    Options
}

// parseParams validates raw against the schema.
func parseParams(raw map[string]string) (params, error) {
	p := params{manager: ManagerAuto}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names) // report the same parameter every time
	for _, k := range names {
		v := raw[k]
		var err error
		switch k {
		case ParamRefresh:
			p.opts.Refresh, err = strconv.ParseBool(v)
			if err != nil {
				return p, &ParamError{k, fmt.Sprintf("%q is not a bool", v)}
			}
		case ParamSourceList:
			if p.opts.SourceList, err = absPath(k, v); err == nil && !strings.HasSuffix(v, ".list") {
				// apt quotes a malformed line in its error, which travels to
				// the controller: only files in sources.list format.
				err = &ParamError{k, fmt.Sprintf("%q is not a .list file", v)}
			}
		case ParamListsDir:
			p.opts.ListsDir, err = stateDir(k, v)
		case ParamCacheDir:
			p.opts.CacheDir, err = stateDir(k, v)
		case ParamManager:
			p.manager = Manager(v)
			if !slices.Contains([]Manager{ManagerAuto, ManagerApt, ManagerDNF4, ManagerDNF5}, p.manager) {
				return p, &ParamError{k, fmt.Sprintf("%q is not one of auto, apt, dnf4, dnf5", v)}
			}
		default:
			return p, &ParamError{k, "unknown parameter"}
		}
		if err != nil {
			return p, err
		}
	}
	if p.manager == ManagerDNF4 || p.manager == ManagerDNF5 {
		for _, k := range []string{ParamSourceList, ParamListsDir, ParamCacheDir} {
			if _, ok := raw[k]; ok {
				return p, &ParamError{k, "applies to apt only, not to manager " + string(p.manager)}
			}
		}
	}
	return p, nil
}

// systemTrees are where apt's state directories must never point: apt
// deletes what it does not recognise in its lists directory.
var systemTrees = []string{"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run",
	"/sbin", "/sys", "/usr", "/home"}

// stateDir checks a path for apt's lists or cache directory: absolute,
// clean, and neither "/", a top-level directory, nor inside a system tree.
func stateDir(name, v string) (string, error) {
	if _, err := absPath(name, v); err != nil {
		return "", err
	}
	if strings.Count(v, "/") < 2 {
		return "", &ParamError{name, fmt.Sprintf("%q is a top-level directory", v)}
	}
	for _, t := range systemTrees {
		if v == t || strings.HasPrefix(v, t+"/") {
			return "", &ParamError{name, fmt.Sprintf("%q is inside %s", v, t)}
		}
	}
	return v, nil
}

// absPath checks that v is an absolute, clean Unix path.
func absPath(name, v string) (string, error) {
	switch {
	case v == "":
		return "", &ParamError{name, "empty path"}
	case strings.ContainsAny(v, "\x00\n\r"):
		return "", &ParamError{name, "path contains a control character"}
	case !path.IsAbs(v):
		return "", &ParamError{name, fmt.Sprintf("%q is not absolute", v)}
	case path.Clean(v) != v:
		return "", &ParamError{name, fmt.Sprintf("%q is not clean (want %q)", v, path.Clean(v))}
	}
	return v, nil
}
