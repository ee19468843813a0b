package outbox

import (
	"errors"

	"github.com/vigil-rmm/vigil/internal/boltfile"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("outbox closed")

	// ErrInUse is returned by Open when another process (usually another
	// vigil-agent) holds the outbox file's lock past Options.Timeout.
	ErrInUse = boltfile.ErrLocked

	// ErrCorrupt is returned by Open when the file is not a bbolt database,
	// is damaged, or is a bbolt database that is not an outbox.
	ErrCorrupt = boltfile.ErrCorrupt

	// ErrSchemaTooNew is returned by Open when the file was written by a newer
	// agent whose schema version this code does not know.
	ErrSchemaTooNew = errors.New("schema version newer than this agent knows")

	// ErrNoBody is returned by Append for a report without a body.
	ErrNoBody = errors.New("report has no body")
)
