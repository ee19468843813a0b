// Package netcheck holds the network probes vigil runs against a target:
// ICMP ping, TCP connect, HTTP(S) and DNS. The controller runs them for its
// own checks; an agent runs the same code when a check names it as a
// vantage point, so a check can watch a server only reachable inside the
// client's network. A probe reads no clock but the one it is given and keeps
// no state: Probe.Run returns exactly one Result.
//
// # Results
//
// Every run has exactly one status, with the latency and a short detail:
//
//	OK   the expected reply came
//	NG   a negative reply came: refused, reset, ICMP unreachable from the
//	     network, a wrong HTTP status or missing keyword, a failed TLS
//	     handshake, NXDOMAIN
//	WR   no reply within the timeout
//	ERR  the check could not start: the name does not resolve, no route
//	     from here, a local error (permissions, out of sockets). It says
//	     nothing about the target.
//
// A probe stops at its context's deadline (DefaultTimeout when there is
// none). Dialers and resolvers are injectable (Dialer, Resolver).
//
// # Mapping errors to statuses
//
// Classify maps the error of a connection attempt; rows are tried in
// order. The errno rows are errno_unix.go and errno_windows.go (Winsock
// WSAE* codes).
//
//	nil                                           OK
//	*net.DNSError (name lookup, even a timeout)   ERR  the target was never tried
//	context.Canceled                              ERR
//	ECONNREFUSED, ECONNRESET, ECONNABORTED        NG
//	ETIMEDOUT                                     WR
//	EHOSTUNREACH, ENETUNREACH                     ERR  no route (but see TCP)
//	ENETDOWN, EHOSTDOWN, EACCES, EPERM,           ERR  local
//	EADDRNOTAVAIL, EMFILE, ENFILE, ENOBUFS,
//	EINVAL (a blackhole route)
//	a deadline or net.Error with Timeout()        WR
//	anything else                                 ERR
//
// The probes add their own rows:
//
//   - TCP resolves the name first (ERR if that fails), then connects. An
//     EHOSTUNREACH or ENETUNREACH is ERR only when the local routing
//     table has no route to the address (a UDP connect, which sends
//     nothing, fails the same way); with a route, the unreachable came
//     from the network or the neighbour lookup (a server that is off on
//     its LAN) and the run is NG. Otherwise a down server behind a router
//     would read as "cannot start" and suspend its check.
//   - HTTP: a failed TLS handshake (unknown authority, expired or
//     mismatched certificate, a TLS alert, a non-TLS answer) is NG; a
//     reply the server broke off or malformed is NG; the status must be
//     one of HTTP.Status (default any 2xx or 3xx; redirects are not
//     followed); the keyword is searched in the first MaxBody (1 MiB)
//     bytes; CertDaysLeft is set for HTTPS, and below MinCertDays the
//     run is NG. Requests never use a proxy or a pooled connection.
//   - DNS: NXDOMAIN, NODATA (no record of the type), a server failure and
//     a refused query (ICMP port unreachable) are NG; no answer in time
//     is WR; an unusable server address or record type is ERR.
//   - Ping: an echo reply is OK; an ICMP destination unreachable about
//     our request is NG; no reply is WR; a socket that cannot be opened,
//     or a first send that fails (no route), is ERR.
//
// # Ping sockets
//
// Ping uses pro-bing. PingAuto opens an unprivileged ICMP socket when
// /proc/sys/net/ipv4/ping_group_range includes one of the process's
// groups (the kernel default "1 0" includes none), a raw socket
// otherwise, which needs root or CAP_NET_RAW; without either the run is
// ERR and its detail says why. Windows always uses pro-bing's privileged
// mode; macOS and the BSDs the unprivileged socket. pro-bing ignores
// ICMP errors, so on Linux a raw-mode IPv4 ping opens a second raw socket
// filtered to destination-unreachable messages (unreach_linux.go) to see
// them. Unprivileged sockets, IPv6 and other systems cannot: there an
// unreachable reads as WR.
package netcheck
