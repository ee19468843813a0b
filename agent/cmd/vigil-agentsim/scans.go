package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-rmm/vigil/agent/internal/collector/reboot"
	"github.com/vigil-rmm/vigil/agent/internal/scanner"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// simScanner is the agent's real scanner over simulated sources shaped like
// a typical Debian server: 20 pending updates (5 security), two reboot
// signals, 400 installed packages. Intervals are the agent's defaults, so
// the wire and ingest figures are those of a real fleet.
func simScanner(o Options, i int, out scanner.Appender) (*scanner.Scanner, error) {
	dir := filepath.Join(o.StateDir, "scan")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return scanner.New(scanner.Config{
		Outbox:        out,
		StateFile:     filepath.Join(dir, strconv.Itoa(i)+".json"),
		Patches:       simPatches{},
		Reboot:        simReboot,
		Inventory:     simInventory,
		InitialSpread: max(o.Ramp, time.Second),
		Logger:        o.logger,
	})
}

type simPatches struct{}

func (simPatches) ScanPatches(context.Context) *agentv1.PatchScan {
	s := &agentv1.PatchScan{Source: "apt", Status: agentv1.ScanStatus_SCAN_STATUS_OK}
	for j := range 20 {
		c := agentv1.Classification_CLASSIFICATION_UPDATE
		if j < 5 {
			c = agentv1.Classification_CLASSIFICATION_SECURITY
		}
		name := fmt.Sprintf("libsim%02d", j)
		s.Pending = append(s.Pending, &agentv1.PendingUpdate{Id: name, Package: name, Title: name + " 1.2.3-1 -> 1.2.3-2",
			Classification: c, CurrentVersion: "1.2.3-1", AvailableVersion: "1.2.3-2", Origin: "Debian"})
	}
	return s
}

func simReboot(context.Context, bool) ([]reboot.Signal, error) {
	return []reboot.Signal{
		{Name: reboot.SignalRebootRequiredFile, Strength: reboot.Strong},
		{Name: reboot.SignalNewerKernel, Strength: reboot.Strong},
	}, nil
}

func simInventory(context.Context) (*agentv1.Inventory, error) {
	inv := &agentv1.Inventory{SoftwareSource: "dpkg", Hardware: &agentv1.Hardware{Manufacturer: "QEMU", Model: "Standard PC",
		MemoryTotalBytes: 16 << 30, Virtual: true, OsName: "Debian GNU/Linux 12 (bookworm)", OsVersion: "12",
		Processors: []*agentv1.Processor{{Model: "Simulated CPU", Cores: 4, Threads: 4}},
		Disks:      []*agentv1.Disk{{Name: "vda", SizeBytes: 100 << 30, Interface: "virtio"}}}}
	for j := range 400 {
		inv.Software = append(inv.Software, &agentv1.Software{Name: fmt.Sprintf("package-%03d", j), Version: "2.36-9+deb12u7", Arch: "amd64"})
	}
	return inv, nil
}
