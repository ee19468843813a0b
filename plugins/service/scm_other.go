//go:build !windows

package service

import (
	"errors"
	"fmt"
)

// systemManager stands in for the Windows SCM elsewhere.
type systemManager struct{}

func (systemManager) Open(string) (Handle, error) {
	return nil, fmt.Errorf("service control manager: %w", errors.ErrUnsupported)
}
