package tasks

import "errors"

// Errors, wrapped with detail; controller/internal/apierr maps them to
// gRPC codes. Errors of internal/envelope pass through wrapped.
var (
	// ErrNoTrustRoot means no root fingerprint is recorded on the controller.
	ErrNoTrustRoot = errors.New("no trust root is set on this controller; record the root fingerprint with `vigilctl trust set-root`")
	// ErrNotRegistered means a signing certificate is not registered on the
	// controller (or was removed).
	ErrNotRegistered = errors.New("certificate not registered on this controller")
	// ErrNotSigner means the caller is not the principal whose certificate
	// signed (or is to sign) the task.
	ErrNotSigner = errors.New("signature is not the caller's")
	// ErrCertMismatch means a certificate's principal, role or tenant does
	// not match the principal on the controller.
	ErrCertMismatch = errors.New("certificate does not match the principal")
	// ErrMonitorOnly means the target agent's client chose monitor-only.
	ErrMonitorOnly = errors.New("monitor-only: its client has not allowed actions")
	// ErrAgentRevoked means the target agent is revoked.
	ErrAgentRevoked = errors.New("agent is revoked")
	// ErrExists means a different task (or certificate) with the same id
	// exists.
	ErrExists = errors.New("already exists")
	// ErrNotFound means there is no such task or agent.
	ErrNotFound = errors.New("not found")
	// ErrState means the task is not in a state that allows the operation.
	ErrState = errors.New("not possible in the task's state")
)
