// Package wua holds the portable decision logic for the Windows Update Agent
// (WUA) COM API: search-criteria building, classification by category GUID,
// MSRC severity, reboot behaviour, operation result codes, a table of known
// HRESULTs, and the per-update evaluation of an installation result.
//
// Nothing here calls COM; the code that does lives in platform files and
// feeds plain values in, so all of this is tested on Linux.
//
// Sources: MS IUpdateSearcher::Search and MS-UAMG 3.38.4.11 (criteria
// grammar), MS "WSUS Classification GUIDs" (ff357803), MS "WUA Success and
// Error Codes" and "WUA Networking Error Codes" pages, and
// /work/shared/reference/platform-notes.md §1.
package wua
