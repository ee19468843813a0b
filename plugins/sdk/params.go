package sdk

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// InvalidParam returns the error a plugin gives for a bad parameter: gRPC
// InvalidArgument, "parameter NAME: what is wrong". The agent reports it
// as the task's failure, so say what a valid value looks like.
func InvalidParam(name, format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "parameter %s: %s", name, fmt.Sprintf(format, args...))
}

// ParamKeys returns the parameter names sorted, so that a plugin checks
// them, and names the first bad one, in a stable order.
func ParamKeys(params map[string]string) []string {
	return slices.Sorted(maps.Keys(params))
}

// DurationParam parses a Go duration ("90s", "10m") between lo and hi.
func DurationParam(name, v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, InvalidParam(name, "%q is not a duration (for example 90s or 10m)", v)
	}
	if d < lo || d > hi {
		return 0, InvalidParam(name, "%s is not between %s and %s", d, lo, hi)
	}
	return d, nil
}
