package journal

import (
	"errors"

	"github.com/vigil-rmm/vigil/internal/boltfile"
)

var (
	// ErrSeen is returned by Accept when the task id or the nonce was
	// accepted before: the offer is a replay or a repeat.
	ErrSeen = errors.New("task or nonce seen before")

	// ErrNotFound is returned for a task id the journal does not hold.
	ErrNotFound = errors.New("task not in the journal")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("journal closed")

	// ErrInUse is returned by Open when another process holds the file's
	// lock past Options.Timeout.
	ErrInUse = boltfile.ErrLocked

	// ErrCorrupt is returned by Open when the file is damaged or is not a
	// journal.
	ErrCorrupt = boltfile.ErrCorrupt

	// ErrSchemaTooNew is returned by Open for a file written by a newer
	// agent.
	ErrSchemaTooNew = errors.New("schema version newer than this agent knows")
)
