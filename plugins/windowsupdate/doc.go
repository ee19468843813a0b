// Package windowsupdate is the task-runner plugin that lists Windows
// updates through the Windows Update Agent (WUA) COM API.
//
// Inspect runs two searches and one read through a Searcher, the only code
// that talks to the OS:
//
//	pending                    IsInstalled=0 and IsHidden=0 [and Type='Software']
//	installed_awaiting_reboot  IsInstalled=1 and RebootRequired=1 [and Type='Software']
//	reboot_required            Microsoft.Update.SystemInfo.RebootRequired
//
// RebootRequired is a documented criteria property (MS IUpdateSearcher::Search,
// MS-UAMG 3.38.4.11; platform-notes §1.3), so the second list comes straight
// from WUA and is not derived on the client.
//
// The answer is always an InspectResponse whose Result is a marshalled
// agentv1.PatchScan: a failed search is a PatchScan with status FAILED and
// the WU_E_* name of the HRESULT, never a gRPC error. Only bad parameters
// (InvalidArgument) and a cancelled call end in a gRPC error.
//
// search_windows.go holds the COM calls and nothing that needs a test;
// VARIANT decoding, the choice of the HRESULT to report, the conversion to
// wire types and the scan logic are portable and tested on Linux. On other
// systems the Searcher reports errors.ErrUnsupported and Inspect answers
// SCAN_STATUS_UNAVAILABLE with error_code "unsupported_os".
package windowsupdate
