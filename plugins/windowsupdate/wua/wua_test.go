package wua

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCriteria(t *testing.T) {
	tests := []struct {
		name string
		in   SearchOptions
		want string
	}{
		{"default", SearchOptions{}, "IsInstalled=0 and IsHidden=0"},
		{"software", SearchOptions{SoftwareOnly: true}, "IsInstalled=0 and IsHidden=0 and Type='Software'"},
		{
			"one category", SearchOptions{CategoryIDs: []string{"0fa1201d-4330-4fa8-8ae9-b877473b6441"}},
			"IsInstalled=0 and IsHidden=0 and CategoryIDs contains '0FA1201D-4330-4FA8-8AE9-B877473B6441'",
		},
		{
			"two categories expand to top-level OR",
			SearchOptions{SoftwareOnly: true, CategoryIDs: []string{GUIDSecurityUpdates, GUIDCriticalUpdates, strings.ToLower(GUIDSecurityUpdates)}},
			"(IsInstalled=0 and IsHidden=0 and Type='Software' and CategoryIDs contains '0FA1201D-4330-4FA8-8AE9-B877473B6441')" +
				" or (IsInstalled=0 and IsHidden=0 and Type='Software' and CategoryIDs contains 'E6CF1350-C01B-414D-A61F-263D14D133B4')",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Criteria(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Criteria = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

func TestCriteriaInvalidGUID(t *testing.T) {
	bad := []string{
		"", "0FA1201D", "{0FA1201D-4330-4FA8-8AE9-B877473B6441}",
		"0FA1201D-4330-4FA8-8AE9-B877473B644G", "0FA1201D-4330-4FA8-8AE9-B877473B644'",
		"0FA1201D 4330-4FA8-8AE9-B877473B6441", "0FA1201D-4330-4FA8-8AE9-B877473B6441 or IsInstalled=1",
	}
	for _, id := range bad {
		t.Run(id, func(t *testing.T) {
			if _, err := Criteria(SearchOptions{CategoryIDs: []string{id}}); !errors.Is(err, ErrInvalidGUID) {
				t.Errorf("err = %v, want ErrInvalidGUID", err)
			}
		})
	}
}

func TestEscapeString(t *testing.T) {
	tests := map[string]string{"": "", "abc": "abc", "O'Brien": "O''Brien", "''": "''''"}
	for in, want := range tests {
		if got := EscapeString(in); got != want {
			t.Errorf("EscapeString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want Classification
	}{
		{"none", nil, ClassUnknown},
		{"product only", []string{"72e7624a-5b00-45d2-b92f-e561c0a6a160"}, ClassUnknown},
		{"security lower case", []string{"0fa1201d-4330-4fa8-8ae9-b877473b6441"}, ClassSecurity},
		{"braces", []string{"{E6CF1350-C01B-414D-A61F-263D14D133B4}"}, ClassCritical},
		{"definition", []string{GUIDDefinitionUpdates}, ClassDefinition},
		{"rollup", []string{GUIDUpdateRollups}, ClassUpdateRollup},
		{"updates", []string{GUIDUpdates}, ClassUpdate},
		{"drivers", []string{GUIDDrivers}, ClassDriver},
		{"feature packs", []string{GUIDFeaturePacks}, ClassFeaturePack},
		{"service packs", []string{GUIDServicePacks}, ClassServicePack},
		{"tools", []string{GUIDTools}, ClassTool},
		{"upgrades", []string{GUIDUpgrades}, ClassUpgrade},
		{"security beats rollup", []string{GUIDUpdateRollups, GUIDSecurityUpdates}, ClassSecurity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.ids); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassificationGUIDRoundTrip(t *testing.T) {
	for c := ClassUpdate; c <= ClassSecurity; c++ {
		g := ClassificationGUID(c)
		if _, err := NormalizeGUID(g); err != nil {
			t.Errorf("%v: GUID %q: %v", c, g, err)
		}
		if got := Classify([]string{g}); got != c {
			t.Errorf("Classify(GUID(%v)) = %v", c, got)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	tests := map[string]Severity{
		"Critical": SeverityCritical, "important": SeverityImportant, "Moderate": SeverityModerate,
		"Low": SeverityLow, "": SeverityNone, " ": SeverityNone, "Unspecified": SeverityUnrecognized,
	}
	for in, want := range tests {
		if got := ParseSeverity(in); got != want {
			t.Errorf("ParseSeverity(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEnums(t *testing.T) {
	tests := []struct{ got, want string }{
		{NeverReboots.String(), "NeverReboots"},
		{AlwaysRequiresReboot.String(), "AlwaysRequiresReboot"},
		{CanRequestReboot.String(), "CanRequestReboot"},
		{RebootBehavior(7).String(), "RebootBehavior(7)"},
		{SucceededWithErrors.String(), "SucceededWithErrors"},
		{OperationResultCode(9).String(), "OperationResultCode(9)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	succeeded := map[OperationResultCode]bool{NotStarted: false, InProgress: false, Succeeded: true, SucceededWithErrors: false, Failed: false, Aborted: false}
	for c, want := range succeeded {
		if c.Succeeded() != want {
			t.Errorf("%v.Succeeded() = %v", c, !want)
		}
	}
	if NeverReboots.MayReboot() || !CanRequestReboot.MayReboot() {
		t.Error("MayReboot wrong")
	}
}

func TestHRESULT(t *testing.T) {
	tests := []struct {
		code      uint32
		name      string
		cat       ErrorCategory
		transient bool
		str       string
	}{
		{0x80240032, "WU_E_INVALID_CRITERIA", ErrorInvalid, false, "WU_E_INVALID_CRITERIA (0x80240032): The search criteria string was invalid."},
		{0x8024402C, "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED", ErrorNetwork, true, ""},
		{0x8024002F, "WU_E_CALL_CANCELLED_BY_POLICY", ErrorPolicy, false, ""},
		{0x80240016, "WU_E_INSTALL_NOT_ALLOWED", ErrorBusy, true, ""},
		{0x00240005, "WU_S_REBOOT_REQUIRED", ErrorSuccess, false, ""},
		{0x80070643, "", ErrorOther, false, "0x80070643"},
		{0x00000001, "", ErrorSuccess, false, "0x00000001"},
	}
	for _, tt := range tests {
		c := HRESULT(tt.code)
		if c.Value != tt.code || c.Name != tt.name || c.Category != tt.cat || c.Transient != tt.transient {
			t.Errorf("HRESULT(0x%08X) = %+v", tt.code, c)
		}
		if tt.str != "" && c.String() != tt.str {
			t.Errorf("String = %q, want %q", c.String(), tt.str)
		}
	}
}

func TestHRESULTTable(t *testing.T) {
	for v, c := range codes {
		if c.Name == "" || c.Message == "" {
			t.Errorf("0x%08X: empty name or message", v)
		}
		if (v&0x80000000 == 0) != (c.Category == ErrorSuccess) {
			t.Errorf("0x%08X %s: category %v disagrees with severity bit", v, c.Name, c.Category)
		}
		if strings.HasPrefix(c.Name, "WU_E_") && v>>16 != 0x8024 {
			t.Errorf("%s = 0x%08X: not FACILITY_WINDOWSUPDATE", c.Name, v)
		}
	}
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestUpdateFixtures(t *testing.T) {
	var updates []Update
	loadJSON(t, "updates.json", &updates)
	want := map[string]struct {
		class  Classification
		sev    Severity
		reboot bool
	}{
		"5066835": {ClassSecurity, SeverityCritical, true},
		"2267602": {ClassDefinition, SeverityNone, false},
		"":        {ClassDriver, SeverityNone, true},
		"5054156": {ClassUpgrade, SeverityNone, true},
		"5066128": {ClassSecurity, SeverityImportant, true},
		"890830":  {ClassUpdateRollup, SeverityNone, false},
	}
	if len(updates) != len(want) {
		t.Fatalf("%d updates, want %d", len(updates), len(want))
	}
	for _, u := range updates {
		kb := strings.Join(u.KBArticleIDs, ",")
		w := want[kb]
		got := struct {
			class  Classification
			sev    Severity
			reboot bool
		}{u.Classification(), u.Severity(), u.InstallationBehavior.RebootBehavior.MayReboot()}
		if got != w {
			t.Errorf("KB%s %q: got %+v, want %+v", kb, u.Title, got, w)
		}
	}
}

func TestEvaluateInstall(t *testing.T) {
	type brief struct {
		ID     string
		OK     bool
		Code   string
		Reboot bool
	}
	tests := []struct {
		file   string
		failed int
		reboot bool
		want   []brief
	}{
		{"install_partial_failure.json", 2, true, []brief{
			{"5b2c4d3e-0f1a-4b6c-9d8e-7f6a5b4c3d2e", true, "S_OK", true},
			{"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", false, "", false},
			{"11223344-5566-4778-899a-abbccddeeff0", false, "S_OK", false},
		}},
		// The call and the overall result say success; one update failed.
		{"install_ok_call_failed_update.json", 1, false, []brief{
			{"5b2c4d3e-0f1a-4b6c-9d8e-7f6a5b4c3d2e", false, "WU_E_INSTALL_NOT_ALLOWED", false},
			{"aabbccdd-1122-4334-8556-77889900aabb", true, "S_OK", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var in InstallationResult
			loadJSON(t, tt.file, &in)
			rep := EvaluateInstall(in)
			got := make([]brief, 0, len(rep.Outcomes))
			for _, o := range rep.Outcomes {
				got = append(got, brief{o.UpdateID, o.OK, o.Code.Name, o.RebootRequired})
			}
			if rep.Failed != tt.failed || rep.RebootRequired != tt.reboot || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got failed=%d reboot=%v %+v\nwant failed=%d reboot=%v %+v", rep.Failed, rep.RebootRequired, got, tt.failed, tt.reboot, tt.want)
			}
		})
	}
}

func TestEvaluateInstallEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		in     InstallationResult
		failed int
		reboot bool
		reason string
	}{
		{"succeeded with failure hresult", InstallationResult{Updates: []UpdateResult{{ResultCode: Succeeded, HResult: 0x80240FFF}}}, 1, false, "result Succeeded but HResult WU_E_UNEXPECTED"},
		{"not started after overall failure uses overall hresult", InstallationResult{ResultCode: Failed, HResult: 0x8024001E, Updates: []UpdateResult{{ResultCode: NotStarted}}}, 1, false, "result NotStarted: WU_E_SERVICE_STOP"},
		{"succeeded with errors is failure", InstallationResult{Updates: []UpdateResult{{ResultCode: SucceededWithErrors}}}, 1, false, "result SucceededWithErrors: S_OK"},
		{"WU_S_REBOOT_REQUIRED per update", InstallationResult{Updates: []UpdateResult{{ResultCode: Succeeded, HResult: 0x00240005}}}, 0, true, ""},
		{"overall reboot flag", InstallationResult{RebootRequired: true}, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := EvaluateInstall(tt.in)
			reason := ""
			if len(rep.Outcomes) > 0 {
				reason = rep.Outcomes[0].Reason
			}
			if rep.Failed != tt.failed || rep.RebootRequired != tt.reboot || !strings.HasPrefix(reason, tt.reason) {
				t.Errorf("failed=%d reboot=%v reason=%q", rep.Failed, rep.RebootRequired, reason)
			}
		})
	}
}

// FuzzCriteria checks that Criteria either rejects a category ID or builds
// criteria with balanced quotes, no extra OR clauses and the ID verbatim
// (upper-cased).
func FuzzCriteria(f *testing.F) {
	f.Add(GUIDSecurityUpdates, true)
	f.Add("0fa1201d-4330-4fa8-8ae9-b877473b6441", false)
	f.Add("x' or IsInstalled=1 or '", false)
	f.Add("{0FA1201D-4330-4FA8-8AE9-B877473B6441}", true)
	f.Fuzz(func(t *testing.T, id string, software bool) {
		got, err := Criteria(SearchOptions{SoftwareOnly: software, CategoryIDs: []string{id, GUIDCriticalUpdates}})
		if err != nil {
			if !errors.Is(err, ErrInvalidGUID) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if strings.Count(got, "'")%2 != 0 {
			t.Fatalf("unbalanced quotes: %q", got)
		}
		if n := strings.Count(got, " or "); n > 1 {
			t.Fatalf("%d ORs for two categories: %q", n, got)
		}
		if !strings.Contains(got, "'"+strings.ToUpper(id)+"'") {
			t.Fatalf("id %q missing from %q", id, got)
		}
		for _, r := range got {
			if r > 0x7e || r < 0x20 {
				t.Fatalf("non-printable %q in %q", r, got)
			}
		}
	})
}
