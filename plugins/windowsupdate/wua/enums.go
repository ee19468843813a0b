package wua

import (
	"fmt"
	"strings"
)

// Severity is the MSRC severity of a security update (IUpdate.MsrcSeverity).
// Non-security updates usually carry an empty string: SeverityNone.
type Severity int

// Severities, in increasing order.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityModerate
	SeverityImportant
	SeverityCritical
	// SeverityUnrecognized is a non-empty value not in the MSRC scale.
	SeverityUnrecognized Severity = -1
)

// ParseSeverity maps an MsrcSeverity string ("Critical", "Important",
// "Moderate", "Low", "") case-insensitively.
func ParseSeverity(s string) Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return SeverityNone
	case "low":
		return SeverityLow
	case "moderate":
		return SeverityModerate
	case "important":
		return SeverityImportant
	case "critical":
		return SeverityCritical
	}
	return SeverityUnrecognized
}

// String returns the lower-case name.
func (s Severity) String() string {
	switch s {
	case SeverityNone:
		return "none"
	case SeverityLow:
		return "low"
	case SeverityModerate:
		return "moderate"
	case SeverityImportant:
		return "important"
	case SeverityCritical:
		return "critical"
	}
	return "unrecognized"
}

// RebootBehavior is IUpdateInstallationBehavior.RebootBehavior
// (InstallationRebootBehavior enum).
type RebootBehavior int

// RebootBehavior values.
const (
	NeverReboots         RebootBehavior = 0
	AlwaysRequiresReboot RebootBehavior = 1
	CanRequestReboot     RebootBehavior = 2
)

// MayReboot reports whether installing may leave a reboot pending.
func (b RebootBehavior) MayReboot() bool { return b != NeverReboots }

// String returns the WUA enum name.
func (b RebootBehavior) String() string {
	switch b {
	case NeverReboots:
		return "NeverReboots"
	case AlwaysRequiresReboot:
		return "AlwaysRequiresReboot"
	case CanRequestReboot:
		return "CanRequestReboot"
	}
	return fmt.Sprintf("RebootBehavior(%d)", int(b))
}

// OperationResultCode is the WUA OperationResultCode enum, used by search,
// download and installation results.
type OperationResultCode int

// OperationResultCode values.
const (
	NotStarted          OperationResultCode = 0
	InProgress          OperationResultCode = 1
	Succeeded           OperationResultCode = 2
	SucceededWithErrors OperationResultCode = 3
	Failed              OperationResultCode = 4
	Aborted             OperationResultCode = 5
)

// Succeeded reports whether the operation fully succeeded. SucceededWithErrors
// is not success: some part of the work failed.
func (c OperationResultCode) Succeeded() bool { return c == Succeeded }

// String returns the WUA enum name without the "orc" prefix.
func (c OperationResultCode) String() string {
	switch c {
	case NotStarted:
		return "NotStarted"
	case InProgress:
		return "InProgress"
	case Succeeded:
		return "Succeeded"
	case SucceededWithErrors:
		return "SucceededWithErrors"
	case Failed:
		return "Failed"
	case Aborted:
		return "Aborted"
	}
	return fmt.Sprintf("OperationResultCode(%d)", int(c))
}
