// Package apt finds pending package updates on Debian and Ubuntu by
// simulating a dist-upgrade with apt-get and parsing its output.
//
// apt-get is used rather than apt because apt-get's output is a stable
// scripting interface. The simulation runs as
//
//	apt-get -s -o Debug::NoLocking=1 dist-upgrade
//
// with LC_ALL=C and DEBIAN_FRONTEND=noninteractive, and prints one line per
// action:
//
//	Inst <pkg> [<installed>] (<candidate> <Origin:Release/Suite>[, …] [<arch>])
//	Conf <pkg> (<candidate> …)
//	Remv <pkg> [<installed>]
//
// ParseSimulate reads the Inst lines. An Inst line without the
// [<installed>] bracket is a package the upgrade pulls in that is not
// installed yet; it is reported with New set and Installed empty, so a
// caller that wants only upgrades filters on !New. ParseRemovals reads the
// Remv lines. Conf lines repeat Inst lines and are ignored.
//
// An update is a security update if any of its origins is a security
// suite (Ubuntu:22.04/jammy-security, Debian ≥ 11's bookworm-security) or
// carries a *-Security origin label (Debian-Security:12/oldstable-security,
// or Debian-Security:9/stable from before Debian 11).
//
// Parsing is portable and tested on every platform; Scan runs apt-get
// through a Runner so tests can point apt at their own sources list and
// state directories.
package apt
