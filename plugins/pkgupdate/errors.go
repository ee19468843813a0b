package pkgupdate

import "errors"

// ErrNoPackageManager is returned by Detect when the host has none of the
// package managers the requested family needs.
var ErrNoPackageManager = errors.New("no supported package manager")
