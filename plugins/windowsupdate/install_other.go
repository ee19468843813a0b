//go:build !windows

package windowsupdate

import (
	"context"
	"errors"
	"fmt"
)

// otherInstaller stands in for WUA on systems that have none.
type otherInstaller struct{}

var _ Installer = otherInstaller{}

func newInstaller() Installer { return otherInstaller{} }

func (otherInstaller) Install(context.Context, InstallJob) (*InstallRun, error) {
	return nil, fmt.Errorf("windows update agent: %w", errors.ErrUnsupported)
}
