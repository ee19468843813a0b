// Package pkgupdate is the Linux patch-scan plugin: it finds pending
// package updates with apt (Debian, Ubuntu) or dnf4/dnf5 (Fedora, RHEL and
// derivatives) and answers Inspect with an agentv1.PatchScan.
//
// # Backends
//
// A Backend is one package manager family. Detect picks it: apt-get on
// PATH selects apt; otherwise dnf5 on PATH selects dnf5; otherwise dnf
// selects dnf5 when "dnf --version" names dnf5 (Fedora 41 and later) and
// dnf4 when it does not (dnf-3 and dnf4 are dnf4's other names). With none
// of them the scan is SCAN_STATUS_UNAVAILABLE with error_code
// "no_package_manager" and source "pkgupdate". The "manager" parameter forces one family.
//
// apt simulates a dist-upgrade (see package apt). Packages the upgrade
// would newly install as dependencies are not reported: they are not
// updates of anything installed. The packages named in
// /run/reboot-required.pkgs, with their installed version from dpkg-query,
// are reported as installed_awaiting_reboot, and reboot_required is set
// when /run/reboot-required exists.
//
// dnf runs "check-update" (dnf4) or "check-upgrade" (dnf5), then
// "updateinfo list --updates" (dnf4) or "advisory list --updates" (dnf5),
// and joins the advisories to the updates by name.arch (see package dnf).
// The installed versions come from one "rpm -q" call; when rpm fails they
// are left empty rather than failing the scan. dnf has no reliable list of
// installed packages awaiting a reboot, so installed_awaiting_reboot stays
// empty there.
//
// # Mapping
//
// PendingUpdate.id is the package name, with ":arch" appended when the
// package's architecture is foreign: for apt when apt-get qualifies the
// name (libc6:i386 on amd64), for dnf when the arch is neither "noarch"
// nor the kernel's machine name (glibc:i686 on x86_64). title is
// "package current -> available". origin is the label of the apt origin
// (the part before ":", such as "Debian-Security"; the first security
// origin when there is one) or the dnf repository. classification is
// SECURITY for an apt security origin or any dnf security advisory;
// FEATURE_PACK when every dnf advisory of the package is an enhancement;
// UPDATE otherwise. severity is the highest dnf advisory severity (apt has
// none: UNSPECIFIED); advisories lists the dnf advisory ids, sorted;
// release_unix is the newest advisory's issue date when dnf5 prints it.
// Both lists are sorted by id so that equal scans encode equally.
//
// # Parameters
//
// "refresh" (bool, default false) fetches fresh metadata first: apt-get
// update, or dnf --refresh makecache. "source_list", "lists_dir" and
// "cache_dir" point apt at another sources list and state directories (a
// mirror, a test repository); they must be absolute, clean paths, are
// refused with manager dnf4 or dnf5, and are ignored when "auto" finds
// dnf. "manager" is auto (default), apt, dnf4 or dnf5. Any other
// parameter, or a malformed value, is codes.InvalidArgument naming it.
//
// # Run
//
// Run upgrades packages. Besides the parameters above it takes exactly one
// of "packages" (comma-separated names, "name:arch" for a foreign
// architecture), "security_only"=true or "all"=true. It first scans as
// Inspect does (so "refresh" and the apt directories apply), then upgrades
// the chosen pending updates:
//
//	apt-get [dirs] -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade <pkgs>
//	dnf upgrade -y <pkgs>            (packages; name.arch for a foreign one)
//	dnf upgrade -y --security        (security_only)
//	dnf upgrade -y                   (all)
//
// apt-get runs with DEBIAN_FRONTEND=noninteractive and LC_ALL=C, dnf with
// LC_ALL=C; their output is streamed line by line. security_only and all
// upgrade the pending updates the scan classified as security, or all of
// them, and the scan's list is what is reported on. The installed versions
// are read before (from the scan) and after (dpkg-query, rpm -q). The
// Result detail is
//
//	{"source":"apt",
//	 "upgraded":[{"package":"curl","from":"7.88.1-10","to":"7.88.1-10+deb12u5"}],
//	 "failed":[{"package":"libc6:i386","version":"2.36-9","reason":"still at 2.36-9, 2.36-9+deb12u4 was available"}],
//	 "current":[{"package":"bash","version":"5.2.15-2"}],
//	 "error":"apt-get exited 100: E: ..."}
//
// "current" lists named packages with nothing pending; a named package
// that is not installed is failed. ok is true only when the command exited
// 0 and every chosen package ended at another version than before
// (--only-upgrade and dnf upgrade only go up). exit_code is the upgrade
// command's. A failed scan or a missing package manager is a Result with
// ok=false and "error", not a gRPC error. Run does not declare "downtime":
// packages restarting their own services is accepted as part of patching.
//
// The commands are found on the plugin's PATH, which is also how the
// agent's tests substitute fakes for them (no separate override variable).
//
// # Failures
//
// Apart from invalid parameters, Inspect always returns a PatchScan. A
// command that exits with an unexpected status gives SCAN_STATUS_FAILED
// with error_code "<family>_exit_<status>" ("apt_exit_100", "dnf_exit_1")
// and the first useful line of its standard error as error_message.
// Output that does not parse gives error_code "parse", a command that
// cannot be started "exec", an unreadable /run/reboot-required "read". A
// scan cut short by its deadline is SCAN_STATUS_TIMEOUT ("timeout"); a
// cancelled one is SCAN_STATUS_FAILED ("cancelled"), as the agent names
// its own failures. The agent sets hash, duration_ms and request_id;
// duration_ms is filled here too for callers that use the plugin alone.
package pkgupdate
