package reboot

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Registry paths under HKLM (platform-notes §2).
const (
	keyAutoUpdate     = `SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update`
	keyUXState        = `SOFTWARE\Microsoft\WindowsUpdate\UX\StateVariables`
	keyCBS            = `SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing`
	keySessionManager = `SYSTEM\CurrentControlSet\Control\Session Manager`
	keyUpdates        = `SOFTWARE\Microsoft\Updates`
	keyActiveName     = `SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName`
	keyPendingName    = `SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName`
	keyNetlogon       = `SYSTEM\CurrentControlSet\Services\Netlogon`
)

// Signals reads the registry and classifies it. o.WUARebootRequired is
// passed through; this function makes no COM calls. When some reads fail it
// returns the signals from the reads that worked together with the error.
func Signals(ctx context.Context, o Options) ([]Signal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := ReadRegistry()
	s.WUARebootRequired = o.WUARebootRequired
	return WindowsSignals(s, windows.DurationSinceBoot(), o.CBSGrace), err
}

// ReadRegistry reads the keys and values behind RegistrySnapshot from HKLM.
// Missing keys and values are not errors. Other failures (access denied, an
// unexpected value type) leave that field zero, the remaining reads still
// run, and the failures are returned joined.
func ReadRegistry() (RegistrySnapshot, error) {
	var s RegistrySnapshot
	var errs []error
	steps := []func() error{
		func() (e error) { s.AutoUpdateRebootRequired, e = keyExists(keyAutoUpdate + `\RebootRequired`); return },
		func() (e error) { s.PostRebootReporting, e = keyExists(keyAutoUpdate + `\PostRebootReporting`); return },
		func() (e error) { s.UXRebootRequired, e = intValue(keyUXState, "RebootRequired"); return },
		func() (e error) { s.CBSRebootPending, e = keyExists(keyCBS + `\RebootPending`); return },
		func() (e error) { s.CBSRebootInProgress, e = keyExists(keyCBS + `\RebootInProgress`); return },
		func() (e error) { s.CBSPackagesPending, e = keyExists(keyCBS + `\PackagesPending`); return },
		func() (e error) {
			s.PendingFileRenameOperations, e = stringsValue(keySessionManager, "PendingFileRenameOperations")
			return
		},
		func() (e error) {
			s.PendingFileRenameOperations2, e = stringsValue(keySessionManager, "PendingFileRenameOperations2")
			return
		},
		func() (e error) { s.UpdateExeVolatile, e = intValue(keyUpdates, "UpdateExeVolatile"); return },
		func() (e error) { s.ActiveComputerName, e = stringValue(keyActiveName, "ComputerName"); return },
		func() (e error) { s.ComputerName, e = stringValue(keyPendingName, "ComputerName"); return },
		func() (e error) { s.NetlogonJoinDomain, e = keyOrValueExists(keyNetlogon, "JoinDomain"); return },
		func() (e error) { s.NetlogonAvoidSpnSet, e = keyOrValueExists(keyNetlogon, "AvoidSpnSet"); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

func keyExists(path string) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reboot: open %s: %w", path, err)
	}
	k.Close()
	return true, nil
}

func keyOrValueExists(path, name string) (bool, error) {
	if ok, err := keyExists(path + `\` + name); ok || err != nil {
		return ok, err
	}
	return withKey(path, name, func(k registry.Key) (bool, error) {
		_, _, err := k.GetValue(name, nil)
		return err == nil, err
	})
}

func intValue(path, name string) (uint64, error) {
	var v uint64
	_, err := withKey(path, name, func(k registry.Key) (bool, error) {
		var err error
		v, _, err = k.GetIntegerValue(name)
		return true, err
	})
	return v, err
}

func stringValue(path, name string) (string, error) {
	var v string
	_, err := withKey(path, name, func(k registry.Key) (bool, error) {
		var err error
		v, _, err = k.GetStringValue(name)
		return true, err
	})
	return v, err
}

func stringsValue(path, name string) ([]string, error) {
	var v []string
	_, err := withKey(path, name, func(k registry.Key) (bool, error) {
		var err error
		v, _, err = k.GetStringsValue(name)
		return true, err
	})
	return v, err
}

// withKey opens HKLM\path and runs read; a missing key or value yields
// (false, nil).
func withKey(path, name string, read func(registry.Key) (bool, error)) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reboot: open %s: %w", path, err)
	}
	defer k.Close()
	ok, err := read(k)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reboot: read %s\\%s: %w", path, name, err)
	}
	return ok, nil
}
