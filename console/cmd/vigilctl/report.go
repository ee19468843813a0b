package main

import "errors"

func reportCmd(e *env, args []string) error { return errNotYet }

// errNotYet marks a stub; removed when every command is implemented.
var errNotYet = errors.New("not implemented")
