// Command vigil-plugin-windowsupdate is the task-runner plugin that lists
// pending Windows updates and installs them through the Windows Update
// Agent; see package windowsupdate. Built for another OS it answers every
// scan with SCAN_STATUS_UNAVAILABLE and error_code "unsupported_os", and
// every Run with a failed Result.
package main

import (
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/windowsupdate"
)

func main() {
	sdk.Serve(windowsupdate.New(windowsupdate.Options{Logger: sdk.Logger()}))
}
