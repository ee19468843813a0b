package dnf

import "errors"

// ErrFailed is returned when dnf exits with a status other than 0 or 100.
var ErrFailed = errors.New("dnf command failed")

// ErrUnparsed is returned when dnf exits 100 ("updates available") but no
// update row could be parsed, which most likely means the output format
// changed.
var ErrUnparsed = errors.New("dnf reported updates but none were parsed")
