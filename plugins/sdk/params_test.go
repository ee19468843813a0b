package sdk

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParamHelpers(t *testing.T) {
	err := InvalidParam("delay", "%q is bad", "x")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `parameter delay: "x" is bad`) {
		t.Errorf("InvalidParam = %v", err)
	}
	if got := ParamKeys(map[string]string{"b": "", "a": "", "c": ""}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("ParamKeys = %v", got)
	}
	if d, err := DurationParam("t", "90s", time.Second, time.Hour); err != nil || d != 90*time.Second {
		t.Errorf("DurationParam(90s) = %v, %v", d, err)
	}
	for _, v := range []string{"soon", "0s", "2h"} {
		if _, err := DurationParam("t", v, time.Second, time.Hour); status.Code(err) != codes.InvalidArgument {
			t.Errorf("DurationParam(%q) = %v, want InvalidArgument", v, err)
		}
	}
}
