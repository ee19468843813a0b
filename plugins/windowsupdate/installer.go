package windowsupdate

import (
	"context"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

// Installer is the OS edge of Run: one WUA session that searches, lets the
// caller pick updates, downloads and installs them. The real one
// (install_windows.go) holds no logic beyond the COM calls; which updates
// to take and how to judge the results is portable (run.go).
type Installer interface {
	// Install runs job. A WUA or COM failure of a whole step is an
	// *HRESULTError (with the steps that completed in the returned
	// InstallRun, which may be nil); an OS without WUA returns
	// errors.ErrUnsupported. WUA cannot be interrupted: when ctx ends the
	// call returns ctx.Err() and the work goes on until the agent kills
	// the plugin.
	Install(ctx context.Context, job InstallJob) (*InstallRun, error)
}

// Stage is a step of an install.
type Stage int

// Stages.
const (
	StageSearching Stage = iota
	StageDownloading
	StageInstalling
	StageDone
)

// InstallJob is what Install does.
type InstallJob struct {
	// Query is the search.
	Query Query
	// Select returns the indexes of the found updates to install.
	Select func(found []wua.Update) []int
	// Progress is called at the start of each stage with the number of
	// updates it covers.
	Progress func(s Stage, n int)
}

// DownloadResult is IDownloadResult.
type DownloadResult struct {
	// ResultCode and HResult are the overall result.
	ResultCode wua.OperationResultCode
	HResult    uint32
	// Updates are GetUpdateResult(i) for each selected update, in
	// InstallRun.Selected order (RebootRequired unused).
	Updates []wua.UpdateResult
}

// InstallRun is what one Install did.
type InstallRun struct {
	// Search is the search result.
	Search *SearchResult
	// Selected are the indexes into Search.Updates that Select returned.
	Selected []int
	// Downloaded is set when the download ran.
	Downloaded *DownloadResult
	// Installing are the indexes into Search.Updates handed to the
	// installer: the selected updates whose download succeeded.
	Installing []int
	// Installed is set when the install ran; its Updates are in Installing
	// order.
	Installed *wua.InstallationResult
	// RebootRequired is ISystemInformation.RebootRequired read after the
	// install.
	RebootRequired bool
}
