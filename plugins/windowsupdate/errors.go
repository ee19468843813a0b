package windowsupdate

import (
	"fmt"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

// Error codes of PatchScan.error_code that are not HRESULT names.
const (
	// CodeUnsupportedOS means the host has no Windows Update Agent.
	CodeUnsupportedOS = "unsupported_os"
	// CodeUnexpected is a failure that carried no HRESULT.
	CodeUnexpected = "unexpected"
)

// HRESULTError is a failed WUA or COM call.
type HRESULTError struct {
	// Op names the call ("search", "create Microsoft.Update.Session").
	Op string
	// Code is the HRESULT worth reporting (see reportedHRESULT).
	Code uint32
	// Description is the COM error description, when there was one.
	Description string
}

func (e *HRESULTError) Error() string {
	c := wua.HRESULT(e.Code)
	switch {
	case c.Name != "":
		return fmt.Sprintf("%s: %s", e.Op, c)
	case e.Description != "":
		return fmt.Sprintf("%s: %s: %s", e.Op, c.Hex(), e.Description)
	}
	return fmt.Sprintf("%s: %s", e.Op, c.Hex())
}

// ResultError is a search whose ISearchResult.ResultCode is not a success.
type ResultError struct {
	// Code is the result code.
	Code wua.OperationResultCode
	// Warnings are the result's warnings.
	Warnings []Warning
}

func (e *ResultError) Error() string {
	msg := "search result " + e.Code.String()
	if w, ok := firstFailure(e.Warnings); ok {
		msg += ": " + wua.HRESULT(w.HResult).String()
		if w.Message != "" {
			msg += ": " + w.Message
		}
	}
	return msg
}
