//go:build windows

package windowsupdate

import (
	"context"

	"github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

// comInstaller runs Install's session through go-ole on a COM thread of
// its own (see comSearcher.onCOMThread).
type comInstaller struct {
	com comSearcher
}

var _ Installer = (*comInstaller)(nil)

func newInstaller() Installer { return &comInstaller{} }

// Install runs job in one WUA session. The synchronous WUA calls cannot be
// cancelled: when ctx ends Install returns and the session goes on until
// the process is killed.
func (c *comInstaller) Install(ctx context.Context, job InstallJob) (*InstallRun, error) {
	type answer struct {
		run *InstallRun
		err error
	}
	done := make(chan answer, 1)
	go func() {
		run := &InstallRun{}
		err := c.com.onCOMThread(func() error { return install(job, run) })
		done <- answer{run, err}
	}()
	select {
	case a := <-done:
		return a.run, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// install fills run step by step, so that a failing step leaves the ones
// before it in run.
func install(job InstallJob, run *InstallRun) error {
	job.Progress(StageSearching, 0)
	session, err := createObject("Microsoft.Update.Session")
	if err != nil {
		return err
	}
	defer session.Release()
	if err := putProperty(session, "ClientApplicationID", clientApplicationID); err != nil {
		return err
	}
	items, err := searchItems(session, job.Query, run)
	defer func() {
		for _, it := range items {
			it.Release()
		}
	}()
	if err != nil {
		return err
	}
	run.Selected = job.Select(run.Search.Updates)
	if len(run.Selected) == 0 {
		job.Progress(StageDone, 0)
		return nil
	}

	job.Progress(StageDownloading, len(run.Selected))
	coll, err := collection(items, run.Selected, true)
	if err != nil {
		return err
	}
	defer coll.Release()
	dl, err := download(session, coll, len(run.Selected))
	if err != nil {
		return err
	}
	run.Downloaded = dl
	for k, i := range run.Selected {
		if k < len(dl.Updates) && dl.Updates[k].ResultCode.Succeeded() {
			run.Installing = append(run.Installing, i)
		}
	}
	if len(run.Installing) == 0 {
		job.Progress(StageDone, 0)
		return nil
	}

	job.Progress(StageInstalling, len(run.Installing))
	icoll, err := collection(items, run.Installing, false)
	if err != nil {
		return err
	}
	defer icoll.Release()
	res, err := installColl(session, icoll, len(run.Installing))
	if err != nil {
		return err
	}
	for k, i := range run.Installing {
		if k < len(res.Updates) {
			res.Updates[k].UpdateID = run.Search.Updates[i].Identity.UpdateID
		}
	}
	run.Installed = res
	info, err := createObject("Microsoft.Update.SystemInfo")
	if err != nil {
		return err
	}
	defer info.Release()
	if run.RebootRequired, err = getBool(info, "ISystemInformation.RebootRequired", "RebootRequired"); err != nil {
		return err
	}
	job.Progress(StageDone, len(run.Installing))
	return nil
}

// searchItems searches and returns the found IUpdate objects (the caller
// releases them), with run.Search filled.
func searchItems(session *ole.IDispatch, q Query, run *InstallRun) ([]*ole.IDispatch, error) {
	result, code, err := runSearch(session, q)
	if err != nil {
		return nil, err
	}
	defer result.Release()
	run.Search = &SearchResult{ResultCode: code}
	var items []*ole.IDispatch
	err = withDispatch(result, "Updates", func(coll *ole.IDispatch) error {
		n, err := getInt(coll, "Updates.Count", "Count")
		if err != nil {
			return err
		}
		for i := range int32(n) {
			item, err := getDispatch(coll, "Item", i)
			if err != nil {
				return err
			}
			items = append(items, item)
			up, err := readUpdate(item)
			if err != nil {
				return err
			}
			if up.EulaAccepted, err = getBool(item, "IUpdate.EulaAccepted", "EulaAccepted"); err != nil {
				return err
			}
			run.Search.Updates = append(run.Search.Updates, up)
		}
		return nil
	})
	if err != nil {
		return items, err
	}
	err = eachItem(result, "Warnings", func(w *ole.IDispatch) error {
		warn, err := readWarning(w)
		run.Search.Warnings = append(run.Search.Warnings, warn)
		return err
	})
	return items, err
}

// collection builds a Microsoft.Update.UpdateColl of items[idx...],
// accepting EULAs first when acceptEula is set.
func collection(items []*ole.IDispatch, idx []int, acceptEula bool) (*ole.IDispatch, error) {
	coll, err := createObject("Microsoft.Update.UpdateColl")
	if err != nil {
		return nil, err
	}
	for _, i := range idx {
		item := items[i]
		if acceptEula {
			ok, err := getBool(item, "IUpdate.EulaAccepted", "EulaAccepted")
			if err == nil && !ok {
				err = callVoid(item, "AcceptEula")
			}
			if err != nil {
				coll.Release()
				return nil, err
			}
		}
		if err := callVoid(coll, "Add", item); err != nil {
			coll.Release()
			return nil, err
		}
	}
	return coll, nil
}

func download(session, coll *ole.IDispatch, n int) (*DownloadResult, error) {
	d, err := callDispatch(session, "CreateUpdateDownloader")
	if err != nil {
		return nil, err
	}
	defer d.Release()
	if err := putProperty(d, "Updates", coll); err != nil {
		return nil, err
	}
	res, err := callDispatch(d, "Download")
	if err != nil {
		return nil, err
	}
	defer res.Release()
	out := &DownloadResult{}
	rc, hr, _, err := readResult(res, false)
	if err != nil {
		return nil, err
	}
	out.ResultCode, out.HResult = rc, hr
	for i := range n {
		ur, err := callDispatch(res, "GetUpdateResult", int32(i))
		if err != nil {
			return nil, err
		}
		rc, hr, _, err := readResult(ur, false)
		ur.Release()
		if err != nil {
			return nil, err
		}
		out.Updates = append(out.Updates, wua.UpdateResult{ResultCode: rc, HResult: hr})
	}
	return out, nil
}

func installColl(session, coll *ole.IDispatch, n int) (*wua.InstallationResult, error) {
	inst, err := callDispatch(session, "CreateUpdateInstaller")
	if err != nil {
		return nil, err
	}
	defer inst.Release()
	// No prompt can be answered on a server; failing to set it is not fatal.
	_ = putProperty(inst, "AllowSourcePrompts", false)
	if err := putProperty(inst, "Updates", coll); err != nil {
		return nil, err
	}
	res, err := callDispatch(inst, "Install")
	if err != nil {
		return nil, err
	}
	defer res.Release()
	out := &wua.InstallationResult{}
	if out.ResultCode, out.HResult, out.RebootRequired, err = readResult(res, true); err != nil {
		return nil, err
	}
	for i := range n {
		ur, err := callDispatch(res, "GetUpdateResult", int32(i))
		if err != nil {
			return nil, err
		}
		rc, hr, reboot, err := readResult(ur, true)
		ur.Release()
		if err != nil {
			return nil, err
		}
		out.Updates = append(out.Updates, wua.UpdateResult{ResultCode: rc, HResult: hr, RebootRequired: reboot})
	}
	return out, nil
}

// readResult reads ResultCode, HResult and (withReboot) RebootRequired of
// a download or installation result object.
func readResult(d *ole.IDispatch, withReboot bool) (wua.OperationResultCode, uint32, bool, error) {
	rc, err := getInt(d, "ResultCode", "ResultCode")
	if err != nil {
		return 0, 0, false, err
	}
	hr, err := getInt(d, "HResult", "HResult")
	if err != nil {
		return 0, 0, false, err
	}
	reboot := false
	if withReboot {
		if reboot, err = getBool(d, "RebootRequired", "RebootRequired"); err != nil {
			return 0, 0, false, err
		}
	}
	return wua.OperationResultCode(rc), uint32(hr), reboot, nil
}

// callVoid calls a method and discards its result.
func callVoid(d *ole.IDispatch, name string, args ...any) error {
	v, err := oleutil.CallMethod(d, name, args...)
	if err != nil {
		return comError(name, err)
	}
	return v.Clear()
}
