package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

type processorView struct {
	Model   string `json:"model"`
	Cores   uint32 `json:"cores"`
	Threads uint32 `json:"threads"`
	MaxMHz  uint32 `json:"max_mhz"`
}

type memoryModuleView struct {
	Slot          string `json:"slot"`
	CapacityBytes uint64 `json:"capacity_bytes"`
	SpeedMHz      uint32 `json:"speed_mhz"`
	Manufacturer  string `json:"manufacturer"`
	PartNumber    string `json:"part_number"`
}

type diskView struct {
	Name         string `json:"name"`
	Model        string `json:"model"`
	SerialNumber string `json:"serial_number"`
	SizeBytes    uint64 `json:"size_bytes"`
	Rotational   bool   `json:"rotational"`
	Interface    string `json:"interface"`
}

// hardwareView is what the host is made of.
type hardwareView struct {
	Manufacturer     string             `json:"manufacturer"`
	Model            string             `json:"model"`
	SerialNumber     string             `json:"serial_number"`
	BIOSVendor       string             `json:"bios_vendor"`
	BIOSVersion      string             `json:"bios_version"`
	BIOSRelease      *time.Time         `json:"bios_release"`
	Processors       []processorView    `json:"processors"`
	MemoryTotalBytes uint64             `json:"memory_total_bytes"`
	MemoryModules    []memoryModuleView `json:"memory_modules"`
	Disks            []diskView         `json:"disks"`
	OSName           string             `json:"os_name"`
	OSVersion        string             `json:"os_version"`
	OSInstalled      *time.Time         `json:"os_installed"`
	Virtual          bool               `json:"virtual"`
}

func hardwareOf(h *agentv1.Hardware) *hardwareView {
	if h == nil {
		return nil
	}
	v := &hardwareView{Manufacturer: h.GetManufacturer(), Model: h.GetModel(), SerialNumber: h.GetSerialNumber(),
		BIOSVendor: h.GetBiosVendor(), BIOSVersion: h.GetBiosVersion(), BIOSRelease: unixPtr(h.GetBiosReleaseUnix()),
		Processors: []processorView{}, MemoryTotalBytes: h.GetMemoryTotalBytes(), MemoryModules: []memoryModuleView{}, Disks: []diskView{},
		OSName: h.GetOsName(), OSVersion: h.GetOsVersion(), OSInstalled: unixPtr(h.GetOsInstallUnix()), Virtual: h.GetVirtual()}
	for _, p := range h.GetProcessors() {
		v.Processors = append(v.Processors, processorView{Model: p.GetModel(), Cores: p.GetCores(), Threads: p.GetThreads(), MaxMHz: p.GetMaxMhz()})
	}
	for _, m := range h.GetMemoryModules() {
		v.MemoryModules = append(v.MemoryModules, memoryModuleView{Slot: m.GetSlot(), CapacityBytes: m.GetCapacityBytes(),
			SpeedMHz: m.GetSpeedMhz(), Manufacturer: m.GetManufacturer(), PartNumber: m.GetPartNumber()})
	}
	for _, d := range h.GetDisks() {
		v.Disks = append(v.Disks, diskView{Name: d.GetName(), Model: d.GetModel(), SerialNumber: d.GetSerialNumber(),
			SizeBytes: d.GetSizeBytes(), Rotational: d.GetRotational(), Interface: d.GetInterface()})
	}
	return v
}

// softwareView is one installed package or program.
type softwareView struct {
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Arch        string     `json:"arch"`
	Publisher   string     `json:"publisher"`
	InstalledAt *time.Time `json:"installed_at"`
}

// inventoryView is one agent's inventory.
type inventoryView struct {
	AgentID        string         `json:"agent_id"`
	Reported       bool           `json:"reported"`
	ReportedAt     *time.Time     `json:"reported_at"`
	CheckedAt      *time.Time     `json:"checked_at"`
	SoftwareSource string         `json:"software_source"`
	Errors         []string       `json:"errors"`
	Hardware       *hardwareView  `json:"hardware"`
	Software       []softwareView `json:"software"`
}

func inventoryOf(r *managev1.InventoryView) inventoryView {
	inv := r.GetInventory()
	v := inventoryView{AgentID: r.GetAgentId(), Reported: inv != nil, ReportedAt: unixMsPtr(r.GetReportedUnixMs()), CheckedAt: unixMsPtr(r.GetCheckedUnixMs()),
		SoftwareSource: inv.GetSoftwareSource(), Errors: append([]string{}, inv.GetErrors()...), Hardware: hardwareOf(inv.GetHardware()),
		Software: []softwareView{}}
	for _, s := range inv.GetSoftware() {
		v.Software = append(v.Software, softwareView{Name: s.GetName(), Version: s.GetVersion(), Arch: s.GetArch(),
			Publisher: s.GetPublisher(), InstalledAt: unixPtr(s.GetInstallUnix())})
	}
	return v
}

func inventoryShow(e *env, args []string) error {
	fs := flag.NewFlagSet("inventory show", flag.ContinueOnError)
	sw := fs.Bool("software", false, "only the installed software")
	hw := fs.Bool("hardware", false, "only the hardware")
	pos, o, err := parse(fs, args, []string{"table", "json", "csv"}, "AGENT")
	if err != nil {
		return err
	}
	switch {
	case *sw && *hw:
		return cli.Usagef("inventory show: --software and --hardware exclude each other; give one, or neither for both")
	case o == "csv" && !*sw && !*hw:
		return cli.Usagef("inventory show: -o csv needs --software (one row per package) or --hardware (field,value rows)")
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.GetInventory(ctx, &managev1.GetInventoryRequest{AgentId: pos[0]})
		if err != nil {
			return err
		}
		v := inventoryOf(r)
		switch {
		case o == "json" && *sw:
			return writeJSON(e.stdout, v.Software)
		case o == "json" && *hw:
			return writeJSON(e.stdout, v.Hardware)
		case o == "json":
			return writeJSON(e.stdout, v)
		case o == "csv" && *sw:
			return csvSoftware(e.stdout, v.Software)
		case o == "csv":
			cw := newCSV(e.stdout)
			_ = cw.Write([]string{"field", "value"})
			_ = cw.WriteAll(hardwareRows(v.Hardware, false))
			return cw.Error()
		}
		if !v.Reported {
			fmt.Fprintf(e.stdout, "agent %s has not reported an inventory yet\n", v.AgentID)
			return nil
		}
		if !*sw {
			rows := append([][]string{{"agent", v.AgentID}, {"reported", ageSince(v.ReportedAt)}, {"checked", ageSince(v.CheckedAt)}},
				hardwareRows(v.Hardware, true)...)
			for _, er := range v.Errors {
				rows = append(rows, []string{"error", er})
			}
			if err := table(e.stdout, []string{"FIELD", "VALUE"}, rows); err != nil {
				return err
			}
		}
		if *hw {
			return nil
		}
		if !*sw {
			fmt.Fprintf(e.stdout, "\nSOFTWARE (%d, from %s)\n", len(v.Software), dash(v.SoftwareSource))
		}
		var rows [][]string
		for _, s := range v.Software {
			rows = append(rows, []string{s.Name, s.Version, dash(s.Arch), dash(s.Publisher), dateCell(s.InstalledAt)})
		}
		return table(e.stdout, []string{"NAME", "VERSION", "ARCH", "PUBLISHER", "INSTALLED"}, rows)
	})
}

// hardwareRows lists the hardware as field, value pairs: human-readable
// for tables, raw numbers (bytes, MHz) and RFC 3339 times for CSV.
func hardwareRows(h *hardwareView, human bool) [][]string {
	if h == nil {
		return nil
	}
	size := func(b uint64) string {
		if human {
			return bytesHuman(b)
		}
		return strconv.FormatUint(b, 10)
	}
	date := func(t *time.Time) string {
		if human {
			return dateCell(t)
		}
		return timeCSV(t)
	}
	u := func(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
	text := func(s string) string {
		if human {
			return dash(s)
		}
		return s
	}
	rows := [][]string{
		{"manufacturer", text(h.Manufacturer)}, {"model", text(h.Model)}, {"serial_number", text(h.SerialNumber)}, {"virtual", strconv.FormatBool(h.Virtual)},
		{"bios_vendor", text(h.BIOSVendor)}, {"bios_version", text(h.BIOSVersion)}, {"bios_release", date(h.BIOSRelease)},
		{"os_name", text(h.OSName)}, {"os_version", text(h.OSVersion)}, {"os_installed", date(h.OSInstalled)},
		{"memory_total", size(h.MemoryTotalBytes)},
	}
	for i, p := range h.Processors {
		k := fmt.Sprintf("processor.%d", i)
		rows = append(rows, []string{k + ".model", text(p.Model)}, []string{k + ".cores", u(p.Cores)}, []string{k + ".threads", u(p.Threads)},
			[]string{k + ".max_mhz", u(p.MaxMHz)})
	}
	for i, m := range h.MemoryModules {
		k := fmt.Sprintf("memory_module.%d", i)
		rows = append(rows, []string{k + ".slot", text(m.Slot)}, []string{k + ".capacity", size(m.CapacityBytes)},
			[]string{k + ".speed_mhz", u(m.SpeedMHz)}, []string{k + ".manufacturer", text(m.Manufacturer)},
			[]string{k + ".part_number", text(m.PartNumber)})
	}
	for i, d := range h.Disks {
		k := fmt.Sprintf("disk.%d", i)
		rows = append(rows, []string{k + ".name", text(d.Name)}, []string{k + ".model", text(d.Model)},
			[]string{k + ".serial_number", text(d.SerialNumber)},
			[]string{k + ".size", size(d.SizeBytes)}, []string{k + ".rotational", strconv.FormatBool(d.Rotational)},
			[]string{k + ".interface", text(d.Interface)})
	}
	return rows
}

func csvSoftware(w io.Writer, sw []softwareView) error {
	cw := newCSV(w)
	_ = cw.Write([]string{"name", "version", "arch", "publisher", "installed_at"})
	for _, s := range sw {
		_ = cw.Write([]string{s.Name, s.Version, s.Arch, s.Publisher, timeCSV(s.InstalledAt)})
	}
	cw.Flush()
	return cw.Error()
}

// inventoryChangeView is one software or hardware change.
type inventoryChangeView struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Arch       string    `json:"arch"`
	OldVersion string    `json:"old_version"`
	NewVersion string    `json:"new_version"`
}

func inventoryChanges(e *env, args []string) error {
	agent, o, from, err := agentSince("inventory changes", args)
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListInventoryChanges(ctx, &managev1.ListInventoryChangesRequest{AgentId: agent, SinceUnix: from})
		if err != nil {
			return err
		}
		views := []inventoryChangeView{}
		for _, ch := range r.GetChanges() {
			views = append(views, inventoryChangeView{Time: unix(ch.GetTimeUnix()), Kind: enumLabel(ch.GetKind().String(), "KIND_"),
				Name: ch.GetName(), Arch: ch.GetArch(), OldVersion: ch.GetOldVersion(), NewVersion: ch.GetNewVersion()})
		}
		switch o {
		case "json":
			return writeJSON(e.stdout, views)
		case "csv":
			rows := [][]string{{"time", "kind", "name", "arch", "old_version", "new_version"}}
			for _, v := range views {
				rows = append(rows, []string{v.Time.Format(time.RFC3339), v.Kind, v.Name, v.Arch, v.OldVersion, v.NewVersion})
			}
			return newCSV(e.stdout).WriteAll(rows)
		}
		var rows [][]string
		for _, v := range views {
			rows = append(rows, []string{v.Time.Format(time.RFC3339), v.Kind, v.Name, dash(v.Arch), dash(v.OldVersion), dash(v.NewVersion)})
		}
		return table(e.stdout, []string{"TIME", "CHANGE", "NAME", "ARCH", "FROM", "TO"}, rows)
	})
}
