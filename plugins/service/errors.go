package service

import "errors"

// ErrNotFound is a service the host does not have.
var ErrNotFound = errors.New("service not found")
