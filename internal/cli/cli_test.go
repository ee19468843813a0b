package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, OK},
		{flag.ErrHelp, OK},
		{Usagef("bad flag %q", "-x"), Usage},
		{fmt.Errorf("wrapped: %w", Usagef("x")), Usage},
		{errors.New("refused"), Error},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if got := Exit("p", c.err, &b, nil); got != c.code {
			t.Errorf("%v: code %d, want %d", c.err, got, c.code)
		}
		if (c.code == OK) != (b.Len() == 0) {
			t.Errorf("%v: printed %q", c.err, b.String())
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	if err := Parse(fs, []string{"-nope"}); Code(err) != Usage {
		t.Errorf("unknown flag: %v", err)
	}
}
