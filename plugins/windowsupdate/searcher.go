package windowsupdate

import (
	"context"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

// Searcher is the OS edge: one WUA search and the system-wide reboot flag.
// The real one (search_windows.go) is synchronous and cannot be cancelled;
// the agent kills the plugin at the deadline.
type Searcher interface {
	// Search runs IUpdateSearcher.Search with q. A WUA or COM failure is
	// an *HRESULTError; an OS without WUA returns errors.ErrUnsupported.
	Search(ctx context.Context, q Query) (*SearchResult, error)
	// RebootRequired reads ISystemInformation.RebootRequired.
	RebootRequired(ctx context.Context) (bool, error)
}

// Query is one search.
type Query struct {
	// Criteria is the WUA criteria string.
	Criteria string
	// Online is IUpdateSearcher.Online.
	Online bool
	// Server is IUpdateSearcher.ServerSelection.
	Server ServerSelection
	// ServiceID is IUpdateSearcher.ServiceID, set only with SSOthers.
	ServiceID string
}

// SearchResult is ISearchResult.
type SearchResult struct {
	// ResultCode is ISearchResult.ResultCode.
	ResultCode wua.OperationResultCode
	// Updates is ISearchResult.Updates.
	Updates []wua.Update
	// Warnings is ISearchResult.Warnings.
	Warnings []Warning
}

// Warning is one IUpdateException of ISearchResult.Warnings.
type Warning struct {
	// HResult is IUpdateException.HResult.
	HResult uint32
	// Message is IUpdateException.Message.
	Message string
	// Context is IUpdateException.Context (UpdateExceptionContext).
	Context int
}

// reportedHRESULT picks the HRESULT to report for a failed IDispatch call
// that returned hr with EXCEPINFO.scode. WUA methods called through
// IDispatch fail with DISP_E_EXCEPTION (0x80020009) and put the WU_E_* code
// in EXCEPINFO.scode (osconfig packages/wua_windows.go GetScodeString;
// platform-notes §1.6). EXCEPINFO carries either wCode or scode, the other
// zero (MS EXCEPINFO docs); with scode zero, or for any other failure, the
// outer HRESULT is all there is.
func reportedHRESULT(hr, scode uint32) uint32 {
	if scode != 0 {
		return scode
	}
	return hr
}

// coInitSucceeded reports whether CoInitializeEx's HRESULT means COM is
// initialised on the thread: S_OK, or S_FALSE when it already was. Both
// must be balanced by CoUninitialize (MS CoInitializeEx docs).
func coInitSucceeded(hr uint32) bool { return hr == 0 || hr == 1 }
