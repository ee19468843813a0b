//go:build windows

package service

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// systemManager is the real SCM.
type systemManager struct{}

func (systemManager) Open(name string) (Handle, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connect to the service control manager: %w", err)
	}
	s, err := m.OpenService(name)
	if err != nil {
		_ = m.Disconnect()
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("open service: %w", err)
	}
	return &handle{m: m, s: s}, nil
}

type handle struct {
	m *mgr.Mgr
	s *mgr.Service
}

func (h *handle) Query() (Status, error) {
	st, err := h.s.Query()
	return Status{State: State(st.State), Win32ExitCode: st.Win32ExitCode}, err
}

func (h *handle) Start() error {
	err := h.s.Start()
	if errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return nil
	}
	return err
}

func (h *handle) Stop() error {
	_, err := h.s.Control(svc.Stop)
	if errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return nil
	}
	return err
}

func (h *handle) Close() error {
	return errors.Join(h.s.Close(), h.m.Disconnect())
}
