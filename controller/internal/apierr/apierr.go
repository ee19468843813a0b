// Package apierr is the one table that maps the controller's domain errors
// to gRPC status codes. Handlers return domain errors wrapped with context;
// the servers' interceptors pass them through Status.
package apierr

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/fleet"
	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/controller/internal/tasks"
	"github.com/vigil-rmm/vigil/internal/envelope"
)

// Generic domain errors for the API layer.
var (
	// ErrInvalid means a request field is malformed; the message names it.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound means the object does not exist or is not visible to the caller.
	ErrNotFound = errors.New("not found")
	// ErrExists means an object with that identifier already exists.
	ErrExists = errors.New("already exists")
)

// Invalid returns an ErrInvalid naming field and what is wrong.
func Invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// NotFound returns an ErrNotFound naming the object.
func NotFound(kind, id string) error {
	return fmt.Errorf("%w: %s %q", ErrNotFound, kind, id)
}

var table = []struct {
	err  error
	code codes.Code
}{
	{ErrInvalid, codes.InvalidArgument},
	{pki.ErrBadCSR, codes.InvalidArgument},
	{ErrNotFound, codes.NotFound},
	{store.ErrNotFound, codes.NotFound},
	{ErrExists, codes.AlreadyExists},
	{schema.ErrNameTaken, codes.AlreadyExists},
	{schema.ErrNewer, codes.FailedPrecondition},
	{auth.ErrTokenUnknown, codes.Unauthenticated},
	{auth.ErrUnauthenticated, codes.Unauthenticated},
	{auth.ErrTokenExpired, codes.FailedPrecondition},
	{auth.ErrTokenUsedUp, codes.FailedPrecondition},
	{auth.ErrRateLimited, codes.ResourceExhausted},
	{auth.ErrPermission, codes.PermissionDenied},
	{fleet.ErrOffline, codes.FailedPrecondition},
	{fleet.ErrUnsupported, codes.FailedPrecondition},
	{fleet.ErrBusy, codes.Unavailable},
	{tasks.ErrNoTrustRoot, codes.FailedPrecondition},
	{tasks.ErrNotRegistered, codes.FailedPrecondition},
	{tasks.ErrMonitorOnly, codes.FailedPrecondition},
	{tasks.ErrAgentRevoked, codes.FailedPrecondition},
	{tasks.ErrState, codes.FailedPrecondition},
	{tasks.ErrNotSigner, codes.PermissionDenied},
	{tasks.ErrCertMismatch, codes.InvalidArgument},
	{tasks.ErrExists, codes.AlreadyExists},
	{tasks.ErrNotFound, codes.NotFound},
	{envelope.ErrMalformed, codes.InvalidArgument},
	{envelope.ErrExpired, codes.InvalidArgument},
	{envelope.ErrNotYet, codes.InvalidArgument},
	{envelope.ErrUntrustedRoot, codes.PermissionDenied},
	{envelope.ErrBadSignature, codes.PermissionDenied},
	{envelope.ErrCertValidity, codes.PermissionDenied},
	{envelope.ErrRevoked, codes.PermissionDenied},
	{envelope.ErrNoTechnician, codes.PermissionDenied},
	{envelope.ErrApprovalMissing, codes.PermissionDenied},
	{envelope.ErrWrongTarget, codes.PermissionDenied},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// Status converts err to a gRPC status error. Errors that already carry a
// status pass through; unknown errors become Internal with a generic
// message (the detail goes to the log, not to the caller).
func Status(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, e := range table {
		if errors.Is(err, e.err) {
			return status.Error(e.code, err.Error())
		}
	}
	return status.Error(codes.Internal, "internal error; see the controller log")
}

// Known reports whether err maps to a code other than Internal.
func Known(err error) bool {
	if _, ok := status.FromError(err); ok {
		return true
	}
	for _, e := range table {
		if errors.Is(err, e.err) {
			return true
		}
	}
	return false
}
