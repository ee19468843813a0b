package windowsupdate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

var _ sdk.Runner = (*Plugin)(nil)

// Run parameter names.
const (
	paramUpdateIDs       = "update_ids"
	paramClassifications = "classifications"
)

// maxUpdateIDs bounds the update_ids list.
const maxUpdateIDs = 200

// classificationNames maps the "classifications" values to wua's.
var classificationNames = map[string]wua.Classification{
	"security":      wua.ClassSecurity,
	"critical":      wua.ClassCritical,
	"definition":    wua.ClassDefinition,
	"update_rollup": wua.ClassUpdateRollup,
	"update":        wua.ClassUpdate,
	"feature_pack":  wua.ClassFeaturePack,
	"service_pack":  wua.ClassServicePack,
	"tool":          wua.ClassTool,
	"driver":        wua.ClassDriver,
	"upgrade":       wua.ClassUpgrade,
}

func classificationList() string {
	names := make([]string, 0, len(classificationNames))
	for n := range classificationNames {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func runParameterSpecs() []*sdk.ParameterSpec {
	return []*sdk.ParameterSpec{
		{Name: paramUpdateIDs, Type: "list", Description: "Run: updates to install, as UpdateID.RevisionNumber from a scan; exactly one of update_ids, classifications"},
		{Name: paramClassifications, Type: "list", Description: "Run: install every pending update of these classifications: " + classificationList()},
	}
}

// runConfig is a validated set of Run parameters.
type runConfig struct {
	server         ServerSelection
	serviceID      string
	includeDrivers bool
	ids            []wua.Identity // update_ids, in order
	classes        []wua.Classification
}

func runInvalid(name, format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, "parameter %q: %s", name, fmt.Sprintf(format, args...))
}

// parseRunParams validates Run's parameters: update_ids or classifications,
// plus "service" and (with classifications) "include_drivers".
func parseRunParams(params map[string]string) (runConfig, error) {
	var c runConfig
	rest := map[string]string{}
	for k, v := range params {
		switch k {
		case paramUpdateIDs, paramClassifications:
		case paramOnline:
			return c, runInvalid(k, "Run always searches online")
		default:
			rest[k] = v
		}
	}
	base, err := parseParams(rest)
	if err != nil {
		return c, err
	}
	c.server, c.serviceID, c.includeDrivers = base.server, base.serviceID, base.includeDrivers
	ids, hasIDs := params[paramUpdateIDs]
	classes, hasClasses := params[paramClassifications]
	switch {
	case hasIDs && hasClasses:
		return c, runInvalid(paramClassifications, "give either update_ids or classifications, not both")
	case hasIDs:
		if _, ok := params[paramIncludeDrivers]; ok {
			return c, runInvalid(paramIncludeDrivers, "applies to classifications only")
		}
		c.ids, err = parseUpdateIDs(ids)
	case hasClasses:
		c.classes, err = parseClassifications(classes)
		if slices.Contains(c.classes, wua.ClassDriver) {
			c.includeDrivers = true
		}
	default:
		return c, runInvalid(paramUpdateIDs, "required (or classifications)")
	}
	return c, err
}

// parseUpdateIDs parses "GUID.revision" items.
func parseUpdateIDs(v string) ([]wua.Identity, error) {
	var out []wua.Identity
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		g, rev, ok := strings.Cut(item, ".")
		guid, err := wua.NormalizeGUID(g)
		n, nerr := strconv.Atoi(rev)
		if !ok || err != nil || nerr != nil || n < 0 || strconv.Itoa(n) != rev {
			return nil, runInvalid(paramUpdateIDs, "%q is not UpdateID.RevisionNumber", item)
		}
		id := wua.Identity{UpdateID: strings.ToLower(guid), RevisionNumber: n}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	switch {
	case len(out) == 0:
		return nil, runInvalid(paramUpdateIDs, "empty list")
	case len(out) > maxUpdateIDs:
		return nil, runInvalid(paramUpdateIDs, "%d updates, more than %d", len(out), maxUpdateIDs)
	}
	return out, nil
}

func parseClassifications(v string) ([]wua.Classification, error) {
	var out []wua.Classification
	for item := range strings.SplitSeq(v, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		c, ok := classificationNames[item]
		if !ok {
			return nil, runInvalid(paramClassifications, "%q is not one of %s", item, classificationList())
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, runInvalid(paramClassifications, "empty list")
	}
	return out, nil
}

// query is the search for c. Explicit updates are searched by identity,
// one top-level OR term each (WUA accepts OR only at the top level), and
// whether hidden or drivers; classifications by category, as a scan
// lists them.
func (c runConfig) query() (Query, error) {
	q := Query{Online: true, Server: c.server, ServiceID: c.serviceID}
	if len(c.ids) > 0 {
		terms := make([]string, len(c.ids))
		for i, id := range c.ids {
			terms[i] = fmt.Sprintf("(UpdateID='%s' and RevisionNumber=%d and IsInstalled=0)", id.UpdateID, id.RevisionNumber)
		}
		q.Criteria = strings.Join(terms, " or ")
		if len(terms) == 1 {
			q.Criteria = strings.TrimSuffix(strings.TrimPrefix(q.Criteria, "("), ")")
		}
		return q, nil
	}
	guids := make([]string, len(c.classes))
	for i, cl := range c.classes {
		guids[i] = wua.ClassificationGUID(cl)
	}
	crit, err := wua.Criteria(wua.SearchOptions{SoftwareOnly: !c.includeDrivers, CategoryIDs: guids})
	q.Criteria = crit
	return q, err
}

// selectUpdates returns the indexes of found to install: those named, or
// all found when searching by classification.
func (c runConfig) selectUpdates(found []wua.Update) []int {
	var idx []int
	for i, u := range found {
		if len(c.ids) == 0 || slices.Contains(c.ids, normalIdentity(u.Identity)) {
			idx = append(idx, i)
		}
	}
	return idx
}

func normalIdentity(id wua.Identity) wua.Identity {
	return wua.Identity{UpdateID: strings.ToLower(strings.Trim(strings.TrimSpace(id.UpdateID), "{}")), RevisionNumber: id.RevisionNumber}
}

// Outcome names of UpdateOutcome.Outcome.
const (
	OutcomeInstalled = "installed"
	OutcomeFailed    = "failed"
	OutcomeNotFound  = "not_found"
)

// UpdateOutcome is one update in the Result detail.
type UpdateOutcome struct {
	ID             string `json:"id"`
	Title          string `json:"title,omitempty"`
	KB             string `json:"kb,omitempty"`
	Outcome        string `json:"outcome"`
	Step           string `json:"step,omitempty"` // "download" or "install" for a failure
	Result         string `json:"result,omitempty"`
	HResult        string `json:"hresult,omitempty"`
	Code           string `json:"code,omitempty"`
	Reason         string `json:"reason,omitempty"`
	RebootRequired bool   `json:"reboot_required,omitempty"`
}

// RunDetail is the Result detail of Run.
type RunDetail struct {
	Updates        []UpdateOutcome `json:"updates"`
	Installed      int             `json:"installed"`
	Failed         int             `json:"failed"`
	RebootRequired bool            `json:"reboot_required"`
	ErrorCode      string          `json:"error_code,omitempty"`
	Error          string          `json:"error,omitempty"`
}

// progressPercent maps a stage to the Progress percent.
func progressPercent(s Stage) int32 {
	switch s {
	case StageSearching:
		return 0
	case StageDownloading:
		return 10
	case StageInstalling:
		return 50
	}
	return 100
}

func progressMessage(s Stage, n int) string {
	switch s {
	case StageSearching:
		return "searching for updates"
	case StageDownloading:
		return fmt.Sprintf("downloading %d updates", n)
	case StageInstalling:
		return fmt.Sprintf("installing %d updates", n)
	}
	return "done"
}

// Run installs updates; see the package comment.
func (p *Plugin) Run(ctx context.Context, req *sdk.RunRequest, emit func(*sdk.RunEvent) error) error {
	cfg, err := parseRunParams(req.GetParameters())
	if err != nil {
		return err
	}
	q, err := cfg.query()
	if err != nil {
		return runInvalid(paramClassifications, "%v", err)
	}
	// Progress comes from the installer's goroutine; after Run returns it
	// is dropped.
	var (
		mu      sync.Mutex
		done    bool
		emitErr error
	)
	defer func() { mu.Lock(); done = true; mu.Unlock() }()
	progress := func(s Stage, n int) {
		mu.Lock()
		defer mu.Unlock()
		if done || emitErr != nil {
			return
		}
		emitErr = emit(sdk.Progress(progressPercent(s), progressMessage(s, n)))
	}
	run, err := p.installer.Install(ctx, InstallJob{Query: q, Select: cfg.selectUpdates, Progress: progress})
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	mu.Lock()
	eerr := emitErr
	done = true
	mu.Unlock()
	if eerr != nil {
		return eerr
	}
	d := Evaluate(cfg.ids, run, err)
	if err := emit(sdk.Progress(100, "done")); err != nil {
		return err
	}
	b, err := detailJSON(d)
	if err != nil {
		return err
	}
	return emit(sdk.Result(d.Failed == 0 && d.ErrorCode == "", 0, RunSummary(d), b))
}

// maxDetail is the largest Result detail, in bytes.
const maxDetail = 64 << 10

// detailJSON encodes d within maxDetail: titles go first, then the tail of
// the list (the counts stay exact).
func detailJSON(d RunDetail) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil || len(b) <= maxDetail {
		return b, err
	}
	d.Updates = slices.Clone(d.Updates)
	for i := range d.Updates {
		d.Updates[i].Title = ""
	}
	for {
		if b, err = json.Marshal(d); err != nil || len(b) <= maxDetail {
			return b, err
		}
		d.Updates = d.Updates[:len(d.Updates)*3/4]
		if d.Error == "" {
			d.Error = "list cut to fit 64 KiB"
		}
	}
}

// Evaluate judges an InstallRun: each update on its own result (see
// wua.EvaluateInstall), requested updates the search did not find as
// not_found, and a failed step (err) as the run's error. ids are the
// requested identities (none for a classification run).
func Evaluate(ids []wua.Identity, run *InstallRun, err error) RunDetail {
	d := RunDetail{Updates: []UpdateOutcome{}}
	if err != nil {
		d.ErrorCode, d.Error = failureCode(err)
	}
	if run == nil {
		run = &InstallRun{}
	}
	var found []wua.Update
	if run.Search != nil {
		found = run.Search.Updates
		if !run.Search.ResultCode.Succeeded() && run.Search.ResultCode != wua.SucceededWithErrors && d.ErrorCode == "" {
			d.ErrorCode, d.Error = failureCode(&ResultError{Code: run.Search.ResultCode, Warnings: run.Search.Warnings})
		}
	}
	outcomes := map[int]*UpdateOutcome{}
	var order []int
	for k, i := range run.Selected {
		if i < 0 || i >= len(found) {
			continue
		}
		u := found[i]
		o := &UpdateOutcome{ID: updateKey(u.Identity), Title: strings.TrimSpace(u.Title), Outcome: OutcomeFailed}
		if kb := firstKB(u.KBArticleIDs); kb != "" {
			o.KB = "KB" + kb
		}
		switch {
		case run.Downloaded == nil:
			o.Step, o.Reason = "download", "not downloaded"
		case k < len(run.Downloaded.Updates) && !run.Downloaded.Updates[k].ResultCode.Succeeded():
			r := run.Downloaded.Updates[k]
			setCode(o, "download", r.ResultCode, r.HResult, run.Downloaded.HResult)
		default:
			o.Step, o.Reason = "install", "not installed"
		}
		outcomes[i] = o
		order = append(order, i)
	}
	if run.Installed != nil {
		rep := wua.EvaluateInstall(*run.Installed)
		d.RebootRequired = rep.RebootRequired
		for k, i := range run.Installing {
			o, ok := outcomes[i]
			if !ok || k >= len(rep.Outcomes) {
				continue
			}
			ev := rep.Outcomes[k]
			o.Result, o.RebootRequired = ev.ResultCode.String(), ev.RebootRequired
			if ev.OK {
				o.Outcome, o.Step, o.Reason = OutcomeInstalled, "", ""
				continue
			}
			o.Step, o.Reason = "install", ev.Reason
			o.HResult, o.Code = ev.Code.Hex(), ev.Code.Name
		}
	}
	d.RebootRequired = d.RebootRequired || run.RebootRequired
	for _, i := range order {
		d.Updates = append(d.Updates, *outcomes[i])
	}
	for _, id := range ids {
		if !slices.ContainsFunc(run.Selected, func(i int) bool {
			return i >= 0 && i < len(found) && normalIdentity(found[i].Identity) == id
		}) {
			d.Updates = append(d.Updates, UpdateOutcome{ID: id.UpdateID + "." + strconv.Itoa(id.RevisionNumber), Outcome: OutcomeNotFound,
				Reason: "not pending: already installed, superseded or unknown to the update service"})
		}
	}
	for _, o := range d.Updates {
		if o.Outcome == OutcomeInstalled {
			d.Installed++
		} else {
			d.Failed++
		}
	}
	return d
}

// setCode fills a failed step's result from a per-update result, falling
// back to the overall HRESULT when the update's own is a success.
func setCode(o *UpdateOutcome, step string, rc wua.OperationResultCode, hr, overall uint32) {
	c := wua.HRESULT(hr)
	if !c.Failed() && overall&0x80000000 != 0 {
		c = wua.HRESULT(overall)
	}
	o.Step, o.Result, o.HResult, o.Code = step, rc.String(), c.Hex(), c.Name
	o.Reason = fmt.Sprintf("%s result %s: %s", step, rc, c)
}

// failureCode names a failed step as a scan would.
func failureCode(err error) (code, message string) {
	s := failedScan(err)
	return s.GetErrorCode(), s.GetErrorMessage()
}

// RunSummary is the one-line summary of a Run.
func RunSummary(d RunDetail) string {
	var s string
	switch {
	case d.ErrorCode != "" && len(d.Updates) == 0:
		s = "install failed: " + d.ErrorCode + ": " + d.Error
	case len(d.Updates) == 0:
		s = "nothing to install"
	default:
		s = fmt.Sprintf("%d installed, %d failed", d.Installed, d.Failed)
		for _, o := range d.Updates {
			if o.Outcome != OutcomeInstalled {
				name := o.KB
				if name == "" {
					name = o.ID
				}
				s += fmt.Sprintf(" (%s: %s)", name, strings.TrimPrefix(o.Outcome+": "+o.Reason, OutcomeFailed+": "))
				break
			}
		}
		if d.ErrorCode != "" {
			s += "; " + d.ErrorCode
		}
	}
	if d.RebootRequired {
		s += ", reboot required"
	}
	s, _, _ = strings.Cut(s, "\n")
	return s
}
