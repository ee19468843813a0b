// Package dnf parses the pending-update and security-advisory listings of
// dnf4 and dnf5 on Fedora, RHEL and derivatives.
//
// ParseCheckUpdate reads "dnf check-update" (dnf4) and "dnf check-upgrade"
// (dnf5). Their exit status is part of the answer: 100 means updates are
// listed, 0 means none, anything else is an error whose text is on stderr.
// Rows are "name.arch  version-release  repo"; a name too long for its
// column is printed alone with the rest of the row on the next, indented
// line. Rows under "Obsoleting Packages" name a package that replaces an
// installed one (printed indented below it); they are merged into the
// matching update's Obsoletes, or added with Obsoleting set. Metadata lines
// such as "Last metadata expiration check: …" are skipped.
//
// ParseUpdateInfo reads dnf4 "dnf updateinfo list --security"
// ("FEDORA-2024-abc  Important/Sec.  pkg-1.2-3.fc40.x86_64") and the dnf5
// "dnf advisory list --security" table (Name, Type, Severity, Package,
// Issued).
package dnf
