package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestCollectStateReports: `collect --once --state-reports` shows what the
// agent would send, state reports included; without plugins the patch
// scan says why it could not run.
func TestCollectStateReports(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := cmdCollect([]string{"--once", "--state-reports", "--plugins", t.TempDir()}, &stdout, &stderr); err != nil {
		t.Fatalf("collect: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Facts   map[string]any `json:"facts"`
		Metrics map[string]any `json:"metrics"`
		Patches struct {
			Status    string `json:"status"`
			ErrorCode string `json:"error_code"`
		} `json:"patches"`
		Reboot struct {
			Signals []map[string]any `json:"signals"`
		} `json:"reboot"`
		Inventory struct {
			Software []map[string]any `json:"software"`
			Hardware map[string]any   `json:"hardware"`
		} `json:"inventory"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if doc.Facts == nil || doc.Metrics == nil {
		t.Errorf("facts or metrics missing")
	}
	if doc.Patches.Status != "SCAN_STATUS_UNAVAILABLE" || doc.Patches.ErrorCode != "no_plugin" {
		t.Errorf("patches without plugins = %+v, want UNAVAILABLE no_plugin", doc.Patches)
	}
	if len(doc.Reboot.Signals) == 0 {
		t.Errorf("no reboot signals")
	}
	if len(doc.Inventory.Software) == 0 || doc.Inventory.Hardware == nil {
		t.Errorf("inventory has no software or no hardware")
	}
}
