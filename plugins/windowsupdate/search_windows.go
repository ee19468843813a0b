//go:build windows

package windowsupdate

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"

	"github.com/vigil-rmm/vigil/plugins/windowsupdate/wua"
)

// clientApplicationID is IUpdateSession.ClientApplicationID: WUA logs it
// as the caller's name (WindowsUpdate.log).
const clientApplicationID = "vigil"

// comSearcher calls WUA through go-ole. Calls are serialized, and each runs
// on its own OS thread that is initialised for COM for the call and then
// discarded, so no COM state leaks between calls or goroutines.
type comSearcher struct {
	mu sync.Mutex
}

var _ Searcher = (*comSearcher)(nil)

func newSearcher() Searcher { return &comSearcher{} }

// Search runs one synchronous IUpdateSearcher.Search. WUA offers no way to
// cancel it; ctx is not consulted.
func (s *comSearcher) Search(_ context.Context, q Query) (*SearchResult, error) {
	var res *SearchResult
	err := s.onCOMThread(func() error {
		var err error
		res, err = search(q)
		return err
	})
	return res, err
}

// RebootRequired reads Microsoft.Update.SystemInfo.RebootRequired.
func (s *comSearcher) RebootRequired(context.Context) (bool, error) {
	var reboot bool
	err := s.onCOMThread(func() error {
		info, err := createObject("Microsoft.Update.SystemInfo")
		if err != nil {
			return err
		}
		defer info.Release()
		reboot, err = getBool(info, "ISystemInformation.RebootRequired", "RebootRequired")
		return err
	})
	return reboot, err
}

// onCOMThread runs fn on an OS thread of its own in a single-threaded
// apartment, the model windows_exporter uses for WUA after parallel COM use
// across goroutines crashed it (platform-notes §1.6). The goroutine never
// unlocks the thread, so the runtime discards the thread when it returns.
func (s *comSearcher) onCOMThread(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := ole.CoInitializeEx(0, ole.COINIT_APARTMENTTHREADED|ole.COINIT_DISABLE_OLE1DDE)
		var oe *ole.OleError
		if err != nil && !(errors.As(err, &oe) && coInitSucceeded(uint32(oe.Code()))) {
			done <- comError("CoInitializeEx", err)
			return
		}
		defer ole.CoUninitialize()
		done <- fn()
	}()
	return <-done
}

func search(q Query) (*SearchResult, error) {
	session, err := createObject("Microsoft.Update.Session")
	if err != nil {
		return nil, err
	}
	defer session.Release()
	if err := putProperty(session, "ClientApplicationID", clientApplicationID); err != nil {
		return nil, err
	}
	result, code, err := runSearch(session, q)
	if err != nil {
		return nil, err
	}
	defer result.Release()
	res := &SearchResult{ResultCode: code}
	err = eachItem(result, "Updates", func(u *ole.IDispatch) error {
		up, err := readUpdate(u)
		res.Updates = append(res.Updates, up)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = eachItem(result, "Warnings", func(w *ole.IDispatch) error {
		warn, err := readWarning(w)
		res.Warnings = append(res.Warnings, warn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// readUpdate reads the IUpdate properties the plugin uses, and only those:
// each read is a cross-process call into wuauserv (platform-notes §1.4).
func readUpdate(u *ole.IDispatch) (wua.Update, error) {
	var up wua.Update
	var err error
	if up.Title, err = getString(u, "IUpdate.Title", "Title"); err != nil {
		return up, err
	}
	if up.KBArticleIDs, err = getStrings(u, "KBArticleIDs"); err != nil {
		return up, err
	}
	if up.MsrcSeverity, err = getString(u, "IUpdate.MsrcSeverity", "MsrcSeverity"); err != nil {
		return up, err
	}
	if up.CveIDs, err = getStrings(u, "CveIDs"); err != nil {
		return up, err
	}
	err = eachItem(u, "Categories", func(c *ole.IDispatch) error {
		var cat wua.Category
		var err error
		if cat.CategoryID, err = getString(c, "ICategory.CategoryID", "CategoryID"); err != nil {
			return err
		}
		cat.Type, err = getString(c, "ICategory.Type", "Type")
		up.Categories = append(up.Categories, cat)
		return err
	})
	if err != nil {
		return up, err
	}
	err = withDispatch(u, "Identity", func(id *ole.IDispatch) error {
		var err error
		if up.Identity.UpdateID, err = getString(id, "IUpdateIdentity.UpdateID", "UpdateID"); err != nil {
			return err
		}
		rev, err := getInt(id, "IUpdateIdentity.RevisionNumber", "RevisionNumber")
		up.Identity.RevisionNumber = int(rev)
		return err
	})
	if err != nil {
		return up, err
	}
	err = withDispatch(u, "InstallationBehavior", func(b *ole.IDispatch) error {
		rb, err := getInt(b, "IInstallationBehavior.RebootBehavior", "RebootBehavior")
		up.InstallationBehavior.RebootBehavior = wua.RebootBehavior(rb)
		return err
	})
	if err != nil {
		return up, err
	}
	if up.RebootRequired, err = getBool(u, "IUpdate.RebootRequired", "RebootRequired"); err != nil {
		return up, err
	}
	typ, err := getInt(u, "IUpdate.Type", "Type")
	if err != nil {
		return up, err
	}
	up.Type = int(typ)
	if up.MaxDownloadSize, err = getInt(u, "IUpdate.MaxDownloadSize", "MaxDownloadSize"); err != nil {
		return up, err
	}
	up.LastDeploymentChangeTime, err = getTime(u, "IUpdate.LastDeploymentChangeTime", "LastDeploymentChangeTime")
	return up, err
}

func readWarning(w *ole.IDispatch) (Warning, error) {
	var warn Warning
	hr, err := getInt(w, "IUpdateException.HResult", "HResult")
	if err != nil {
		return warn, err
	}
	warn.HResult = uint32(hr)
	if warn.Message, err = getString(w, "IUpdateException.Message", "Message"); err != nil {
		return warn, err
	}
	uec, err := getInt(w, "IUpdateException.Context", "Context")
	warn.Context = int(uec)
	return warn, err
}

// comError turns a go-ole error into an *HRESULTError carrying the code
// reportedHRESULT picks.
func comError(op string, err error) error {
	var oe *ole.OleError
	if !errors.As(err, &oe) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var scode uint32
	if ei, ok := oe.SubError().(ole.EXCEPINFO); ok {
		scode = ei.SCODE()
	}
	desc := strings.TrimSpace(oe.Description())
	if desc == "<nil>" { // go-ole's rendering of a NULL bstrDescription
		desc = ""
	}
	return &HRESULTError{Op: op, Code: reportedHRESULT(uint32(oe.Code()), scode), Description: desc}
}

func createObject(progID string) (*ole.IDispatch, error) {
	unk, err := oleutil.CreateObject(progID)
	if err != nil {
		return nil, comError("create "+progID, err)
	}
	defer unk.Release()
	d, err := unk.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return nil, comError("query "+progID, err)
	}
	return d, nil
}

func putProperty(d *ole.IDispatch, name string, v any) error {
	r, err := oleutil.PutProperty(d, name, v)
	if err != nil {
		return comError("set "+name, err)
	}
	return r.Clear()
}

// callDispatch calls a method that returns an object; the caller releases it.
func callDispatch(d *ole.IDispatch, name string, args ...any) (*ole.IDispatch, error) {
	v, err := oleutil.CallMethod(d, name, args...)
	if err != nil {
		return nil, comError(name, err)
	}
	return toDispatch(name, v)
}

// getDispatch reads an object property; the caller releases it.
func getDispatch(d *ole.IDispatch, name string, args ...any) (*ole.IDispatch, error) {
	v, err := oleutil.GetProperty(d, name, args...)
	if err != nil {
		return nil, comError(name, err)
	}
	return toDispatch(name, v)
}

// toDispatch takes over the reference v holds.
func toDispatch(name string, v *ole.VARIANT) (*ole.IDispatch, error) {
	disp := v.ToIDispatch()
	if disp == nil {
		_ = v.Clear()
		return nil, fmt.Errorf("%s: %w 0x%x for an object", name, errVariantType, uint16(v.VT))
	}
	return disp, nil
}

// withDispatch calls fn with the object property name of d and releases it.
func withDispatch(d *ole.IDispatch, name string, fn func(*ole.IDispatch) error) error {
	o, err := getDispatch(d, name)
	if err != nil {
		return err
	}
	defer o.Release()
	return fn(o)
}

// eachItem calls fn for every item of the collection property name of d
// (Count and Item(i), as in every WUA collection).
func eachItem(d *ole.IDispatch, name string, fn func(*ole.IDispatch) error) error {
	return withDispatch(d, name, func(coll *ole.IDispatch) error {
		n, err := getInt(coll, name+".Count", "Count")
		if err != nil {
			return err
		}
		for i := range int32(n) {
			if err := withDispatchItem(coll, name, i, fn); err != nil {
				return err
			}
		}
		return nil
	})
}

func withDispatchItem(coll *ole.IDispatch, name string, i int32, fn func(*ole.IDispatch) error) error {
	item, err := getDispatch(coll, "Item", i)
	if err != nil {
		return fmt.Errorf("%s[%d]: %w", name, i, err)
	}
	defer item.Release()
	return fn(item)
}

// getStrings reads an IStringCollection property.
func getStrings(d *ole.IDispatch, name string) ([]string, error) {
	var out []string
	err := withDispatch(d, name, func(coll *ole.IDispatch) error {
		n, err := getInt(coll, name+".Count", "Count")
		if err != nil {
			return err
		}
		for i := range int32(n) {
			s, err := getString(coll, fmt.Sprintf("%s[%d]", name, i), "Item", i)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// getRaw reads a scalar property as raw VARIANT bytes and frees the VARIANT.
func getRaw(d *ole.IDispatch, op, name string, args ...any) (rawVariant, error) {
	v, err := oleutil.GetProperty(d, name, args...)
	if err != nil {
		return rawVariant{}, comError(op, err)
	}
	raw := *(*rawVariant)(unsafe.Pointer(v))
	_ = v.Clear()
	return raw, nil
}

func getString(d *ole.IDispatch, op, name string, args ...any) (string, error) {
	v, err := oleutil.GetProperty(d, name, args...)
	if err != nil {
		return "", comError(op, err)
	}
	defer func() { _ = v.Clear() }()
	switch v.VT {
	case ole.VT_BSTR:
		return v.ToString(), nil
	case ole.VT_EMPTY, ole.VT_NULL:
		return "", nil
	}
	return "", fmt.Errorf("%s: %w 0x%x for a string", op, errVariantType, uint16(v.VT))
}

func getInt(d *ole.IDispatch, op, name string) (int64, error) {
	raw, err := getRaw(d, op, name)
	if err != nil {
		return 0, err
	}
	n, err := raw.int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return n, nil
}

func getBool(d *ole.IDispatch, op, name string) (bool, error) {
	raw, err := getRaw(d, op, name)
	if err != nil {
		return false, err
	}
	b, err := raw.bool()
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return b, nil
}

func getTime(d *ole.IDispatch, op, name string) (time.Time, error) {
	raw, err := getRaw(d, op, name)
	if err != nil {
		return time.Time{}, err
	}
	t, err := raw.time()
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

// runSearch runs q with a new searcher of session and returns the
// ISearchResult (the caller releases it) and its result code.
func runSearch(session *ole.IDispatch, q Query) (*ole.IDispatch, wua.OperationResultCode, error) {
	searcher, err := callDispatch(session, "CreateUpdateSearcher")
	if err != nil {
		return nil, 0, err
	}
	defer searcher.Release()
	if err := putProperty(searcher, "Online", q.Online); err != nil {
		return nil, 0, err
	}
	if err := putProperty(searcher, "ServerSelection", int32(q.Server)); err != nil {
		return nil, 0, err
	}
	if q.ServiceID != "" {
		if err := putProperty(searcher, "ServiceID", q.ServiceID); err != nil {
			return nil, 0, err
		}
	}
	result, err := callDispatch(searcher, "Search", q.Criteria)
	if err != nil {
		return nil, 0, err
	}
	code, err := getInt(result, "ISearchResult.ResultCode", "ResultCode")
	if err != nil {
		result.Release()
		return nil, 0, err
	}
	return result, wua.OperationResultCode(code), nil
}
