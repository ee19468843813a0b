// Package windowsupdate is the task-runner plugin that lists and installs
// Windows updates through the Windows Update Agent (WUA) COM API. It
// declares the "downtime" capability: installing updates may restart
// services, and the agent runs it only from an approved downtime task.
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
//
// # Run
//
// Run installs updates. Its parameters are exactly one of
//
//	update_ids       comma-separated UpdateID.RevisionNumber values from a
//	                 scan (PendingUpdate.id); searched as
//	                 (UpdateID='…' and RevisionNumber=N and IsInstalled=0) or …
//	classifications  comma-separated security, critical, definition,
//	                 update_rollup, update, feature_pack, service_pack, tool,
//	                 driver, upgrade; searched as a scan searches, restricted to
//	                 those classification GUIDs (drivers only when "driver" is
//	                 listed or include_drivers=true)
//
// plus "service" as for Inspect. Run always searches online. One WUA
// session (the Installer, install_windows.go) searches, accepts EULAs,
// downloads the chosen updates into an UpdateColl, installs those whose
// download succeeded, and reads ISystemInformation.RebootRequired.
// Progress is 0 (searching), 10 (downloading), 50 (installing), 100.
//
// Every update is judged on its own IUpdateDownloadResult and
// IUpdateInstallationResult (wua.EvaluateInstall): a per-update Failed,
// Aborted, SucceededWithErrors or failure HRESULT is a failed update even
// when the call and the overall result said success. ok is true only when
// every chosen update installed and no step failed; a requested update the
// search did not return is "not_found" and fails the task too. exit_code
// is 0. The Result detail is
//
//	{"updates":[
//	   {"id":"a1b2c3d4-0000-4000-8000-000000000001.201","title":"…","kb":"KB5031234","outcome":"installed","result":"Succeeded","reboot_required":true},
//	   {"id":"a1b2c3d4-0000-4000-8000-000000000002.1","outcome":"failed","step":"download","result":"Failed","hresult":"0x80246008",
//	    "code":"WU_E_DM_FAILTOCONNECTTOBITS","reason":"…"},
//	   {"id":"a1b2c3d4-0000-4000-8000-000000000003.7","outcome":"not_found","reason":"…"}],
//	 "installed":1,"failed":2,"reboot_required":true,
//	 "error_code":"WU_E_SERVICE_STOP","error":"…"}
//
// reboot_required is the per-update and overall flags or
// ISystemInformation.RebootRequired after the install; the plugin never
// reboots (that is the reboot plugin's task). error_code names a step that
// failed as a whole, as Inspect names a failed scan. WUA calls cannot be
// interrupted: a cancelled Run returns at once and the agent kills the
// plugin process.
package windowsupdate
