package wua

import "fmt"

// UpdateResult is one IInstallationResult.GetUpdateResult(i) (an
// IUpdateInstallationResult), with the update it belongs to.
type UpdateResult struct {
	// UpdateID is the update's Identity.UpdateID.
	UpdateID string `json:"update_id"`
	// ResultCode is the per-update OperationResultCode.
	ResultCode OperationResultCode `json:"result_code"`
	// HResult is the per-update HResult.
	HResult uint32 `json:"hresult"`
	// RebootRequired is the per-update RebootRequired.
	RebootRequired bool `json:"reboot_required"`
}

// InstallationResult is what IUpdateInstaller.Install returned: the overall
// IInstallationResult plus one UpdateResult per update, in collection order.
type InstallationResult struct {
	ResultCode     OperationResultCode `json:"result_code"`
	HResult        uint32              `json:"hresult"`
	RebootRequired bool                `json:"reboot_required"`
	Updates        []UpdateResult      `json:"updates"`
}

// Outcome is the verdict for one update.
type Outcome struct {
	UpdateID string
	// OK is true only for a per-update Succeeded with a success HResult.
	OK bool
	// ResultCode is the per-update result code.
	ResultCode OperationResultCode
	// Code describes the per-update HResult, or the overall HResult when the
	// per-update one is S_OK but the update still failed.
	Code Code
	// RebootRequired is the per-update RebootRequired of a successful update.
	RebootRequired bool
	// Reason explains a failure; "" when OK.
	Reason string
}

// InstallReport is the evaluation of an InstallationResult.
type InstallReport struct {
	Outcomes []Outcome
	// Failed counts outcomes that are not OK.
	Failed int
	// RebootRequired is the host-level answer from this result: the overall
	// flag, any per-update flag, or WU_S_REBOOT_REQUIRED. Re-read
	// ISystemInformation.RebootRequired for the authoritative value.
	RebootRequired bool
	// Overall describes the overall HResult.
	Overall Code
}

// EvaluateInstall judges each update on its own result. Any per-update
// Failed, Aborted or SucceededWithErrors (or a failure HResult) is a
// failure even when Install() returned S_OK and the overall ResultCode looks
// fine: Tactical RMM and osconfig check only the call error and so report
// such updates as installed (platform-notes §1.5). An update still
// NotStarted or InProgress is a failure too.
func EvaluateInstall(r InstallationResult) InstallReport {
	rep := InstallReport{
		Outcomes:       make([]Outcome, 0, len(r.Updates)),
		Overall:        HRESULT(r.HResult),
		RebootRequired: r.RebootRequired || r.HResult == WUSRebootRequired,
	}
	for _, u := range r.Updates {
		o := evaluateUpdate(u, r)
		if !o.OK {
			rep.Failed++
		}
		rep.RebootRequired = rep.RebootRequired || o.RebootRequired
		rep.Outcomes = append(rep.Outcomes, o)
	}
	return rep
}

func evaluateUpdate(u UpdateResult, overall InstallationResult) Outcome {
	o := Outcome{UpdateID: u.UpdateID, ResultCode: u.ResultCode, Code: HRESULT(u.HResult)}
	if !o.Code.Failed() && overall.HResult&0x80000000 != 0 {
		o.Code = HRESULT(overall.HResult)
	}
	switch {
	case u.ResultCode.Succeeded() && u.HResult&0x80000000 == 0:
		o.OK = true
		o.RebootRequired = u.RebootRequired || u.HResult == WUSRebootRequired
	case u.ResultCode.Succeeded():
		o.Reason = fmt.Sprintf("result Succeeded but HResult %s", o.Code)
	default:
		o.Reason = fmt.Sprintf("result %s: %s", u.ResultCode, o.Code)
	}
	return o
}
