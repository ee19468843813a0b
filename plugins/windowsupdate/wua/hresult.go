package wua

import "fmt"

// ErrorCategory groups HRESULTs by what an operator or a retry policy should do.
type ErrorCategory int

// Categories.
const (
	// ErrorOther is an unknown or generic failure.
	ErrorOther ErrorCategory = iota
	// ErrorSuccess is S_OK or a WU_S_* success code.
	ErrorSuccess
	// ErrorNetwork is a connectivity, proxy or server-side HTTP failure.
	ErrorNetwork
	// ErrorPolicy means Group Policy or configuration blocks the call.
	ErrorPolicy
	// ErrorBusy means another operation, a pending reboot or a shutdown
	// is in the way.
	ErrorBusy
	// ErrorInvalid is a caller bug (bad criteria, bad arguments).
	ErrorInvalid
)

// String returns the lower-case name.
func (c ErrorCategory) String() string {
	switch c {
	case ErrorSuccess:
		return "success"
	case ErrorNetwork:
		return "network"
	case ErrorPolicy:
		return "policy"
	case ErrorBusy:
		return "busy"
	case ErrorInvalid:
		return "invalid"
	}
	return "other"
}

// Code describes one HRESULT.
type Code struct {
	// Value is the HRESULT as unsigned.
	Value uint32
	// Name is the wuerror.h/winerror.h constant, or "" when unknown.
	Name string
	// Message is a short human explanation, or "" when unknown.
	Message string
	// Category groups the code.
	Category ErrorCategory
	// Transient means retrying later (with backoff) may succeed.
	Transient bool
}

// Failed reports whether the HRESULT is a failure (severity bit set).
func (c Code) Failed() bool { return c.Value&0x80000000 != 0 }

// Hex renders the value as 0x%08X.
func (c Code) Hex() string { return fmt.Sprintf("0x%08X", c.Value) }

// String renders "NAME (0x…): message", or just 0x%08X when unknown.
func (c Code) String() string {
	if c.Name == "" {
		return c.Hex()
	}
	return fmt.Sprintf("%s (%s): %s", c.Name, c.Hex(), c.Message)
}

// Well-known HRESULT values used in logic elsewhere.
const (
	SOK                     uint32 = 0x00000000
	WUSRebootRequired       uint32 = 0x00240005
	WUEInvalidCriteria      uint32 = 0x80240032
	ErrorShutdownInProgress uint32 = 0x8007045B
)

// codes is the table behind HRESULT. Names and values of the WU_E_*/WU_S_*
// entries were checked against Microsoft's "WUA Success and Error Codes"
// (https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-success-and-error-codes-)
// and "WUA Networking Error Codes" (aa387293) pages; the selection follows
// platform-notes §1.5 and §1.7 (ansible.windows win_updates, MS "common
// Windows Update errors").
var codes = map[uint32]Code{
	SOK:               {Name: "S_OK", Message: "The operation completed successfully.", Category: ErrorSuccess},
	0x00240003:        {Name: "WU_S_UPDATE_ERROR", Message: "The operation completed successfully but errors occurred applying the updates.", Category: ErrorSuccess},
	WUSRebootRequired: {Name: "WU_S_REBOOT_REQUIRED", Message: "The system must be restarted to complete installation of the update.", Category: ErrorSuccess},
	0x00240006:        {Name: "WU_S_ALREADY_INSTALLED", Message: "The update to be installed is already installed on the system.", Category: ErrorSuccess},

	0x80240001:         {Name: "WU_E_NO_SERVICE", Message: "WUA was unable to provide the service.", Category: ErrorBusy, Transient: true},
	0x80240009:         {Name: "WU_E_OPERATIONINPROGRESS", Message: "Another conflicting operation was in progress.", Category: ErrorBusy, Transient: true},
	0x8024000B:         {Name: "WU_E_CALL_CANCELLED", Message: "Operation was cancelled.", Category: ErrorOther},
	0x80240016:         {Name: "WU_E_INSTALL_NOT_ALLOWED", Message: "Operation tried to install while another installation was in progress or the system was pending a mandatory restart.", Category: ErrorBusy, Transient: true},
	0x8024001E:         {Name: "WU_E_SERVICE_STOP", Message: "Operation did not complete because the service or system was being shut down.", Category: ErrorBusy, Transient: true},
	0x8024001F:         {Name: "WU_E_NO_CONNECTION", Message: "Operation did not complete because the network connection was unavailable.", Category: ErrorNetwork, Transient: true},
	0x80240021:         {Name: "WU_E_TIME_OUT", Message: "Operation did not complete because it timed out.", Category: ErrorNetwork, Transient: true},
	0x80240024:         {Name: "WU_E_NO_UPDATE", Message: "There are no updates.", Category: ErrorInvalid},
	0x80240025:         {Name: "WU_E_USER_ACCESS_DISABLED", Message: "Group Policy settings prevented access to Windows Update.", Category: ErrorPolicy},
	0x8024002E:         {Name: "WU_E_WU_DISABLED", Message: "Access to an unmanaged server is not allowed.", Category: ErrorPolicy},
	0x8024002F:         {Name: "WU_E_CALL_CANCELLED_BY_POLICY", Message: "Operation did not complete because the DisableWindowsUpdateAccess policy was set.", Category: ErrorPolicy},
	WUEInvalidCriteria: {Name: "WU_E_INVALID_CRITERIA", Message: "The search criteria string was invalid.", Category: ErrorInvalid},
	0x80240438:         {Name: "WU_E_PT_ENDPOINT_UNREACHABLE", Message: "There is no route or network connectivity to the endpoint.", Category: ErrorNetwork, Transient: true},
	0x80240FFF:         {Name: "WU_E_UNEXPECTED", Message: "An operation failed due to reasons not covered by another error code.", Category: ErrorOther},

	0x80244011: {Name: "WU_E_PT_SUS_SERVER_NOT_SET", Message: "WUServer policy value is missing in the registry.", Category: ErrorPolicy},
	0x8024401B: {Name: "WU_E_PT_HTTP_STATUS_PROXY_AUTH_REQ", Message: "Same as HTTP status 407: proxy authentication is required.", Category: ErrorNetwork},
	0x8024401C: {Name: "WU_E_PT_HTTP_STATUS_REQUEST_TIMEOUT", Message: "Same as HTTP status 408: the server timed out waiting for the request.", Category: ErrorNetwork, Transient: true},
	0x80244022: {Name: "WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL", Message: "Same as HTTP status 503: the service is temporarily overloaded.", Category: ErrorNetwork, Transient: true},
	0x8024402C: {Name: "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED", Message: "The proxy server or target server name cannot be resolved.", Category: ErrorNetwork, Transient: true},
	0x8024402F: {Name: "WU_E_PT_ECP_SUCCEEDED_WITH_ERRORS", Message: "External cab file processing completed with some errors (often a web filter in the path).", Category: ErrorNetwork},

	0x80246007: {Name: "WU_E_DM_NOTDOWNLOADED", Message: "The update has not been downloaded.", Category: ErrorOther},
	0x80246008: {Name: "WU_E_DM_FAILTOCONNECTTOBITS", Message: "A failure occurred when trying to connect to the BITS service.", Category: ErrorBusy, Transient: true},

	0x80072EFD: {Name: "WININET_E_CANNOT_CONNECT", Message: "A connection with the server could not be established (firewall or proxy).", Category: ErrorNetwork, Transient: true},
	0x80072EFE: {Name: "WININET_E_CONNECTION_ABORTED", Message: "The connection with the server was terminated abnormally (firewall or proxy).", Category: ErrorNetwork, Transient: true},
	0x80D02002: {Name: "DO_E_DOWNLOAD_NO_PROGRESS", Message: "Delivery Optimization download made no progress within the time limit (firewall or proxy).", Category: ErrorNetwork, Transient: true},

	0x80070005:              {Name: "E_ACCESSDENIED", Message: "Access denied (WUA install/download calls are not allowed from remote callers).", Category: ErrorPolicy},
	ErrorShutdownInProgress: {Name: "ERROR_SHUTDOWN_IN_PROGRESS", Message: "A system shutdown is in progress.", Category: ErrorBusy, Transient: true},
	0x80020005:              {Name: "DISP_E_TYPEMISMATCH", Message: "Type mismatch in a COM call argument.", Category: ErrorInvalid},
}

// HRESULT describes code. Unknown codes get an empty Name and Message and
// render as 0x%08X; unknown success codes are ErrorSuccess.
func HRESULT(code uint32) Code {
	c, ok := codes[code]
	if !ok {
		c = Code{Category: ErrorOther}
		if code&0x80000000 == 0 {
			c.Category = ErrorSuccess
		}
	}
	c.Value = code
	return c
}
