// Package check runs the controller's network checks (ping, TCP connect,
// HTTP(S), DNS) and decides what a person hears about them. It holds
// three pieces, each usable and tested on its own; storing results,
// the manage API and notifications are wired elsewhere.
//
//	Probe      one run against the target: exactly one Result
//	Machine    per check: turns a stream of Results into Notices
//	Scheduler  when each check runs, over a bounded pool of workers
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
//
// # The state machine
//
// A Machine holds one check's State: Unknown, Up or Down. OK counts as up,
// NG and WR as down. A change (Up to Down, Down to Up) takes Confirm
// consecutive agreeing results (default 2) and produces a Notice, kind
// down or up, carrying those results. At 5-minute intervals an outage
// that begins just after a run is noticed two runs later, about ten
// minutes after it began.
//
// ERR says nothing about the target, so it neither counts toward nor
// breaks a run of up or down results: a resolver hiccup between two
// failures does not delay a down notice, and a broken resolver does not
// turn every check down at once. ERR results count toward suspension
// instead: SuspendErr consecutive ERR (default 4) suspend the check with
// a Notice, kind suspended, carrying them; any other result resets the
// count. A suspended Machine ignores results, and the checker removes
// the check from its Scheduler. Resume (`check resume`) clears the
// suspension with a Notice, kind resumed; the last established state
// stays, and the checker runs the check at once (Scheduler.RunNow).
//
// A new check starts Unknown and the first Confirm agreeing results
// establish its state. Finding the target up is not news and sends no
// notice; finding it down is, and sends a down notice.
//
// The Machine reads no clock: the times are the results' own.
//
// # The scheduler
//
// Each check runs on its own slots: the instants whose offset within the
// interval (default 5 minutes, counted from the Unix epoch) is the
// check's Phase, a hash of its id. Checks spread evenly across the
// interval and keep their slots across controller restarts.
//
// A pool of Workers runs checks; Due hands out due checks, earliest
// first, only as workers are free, and Done returns the worker. A check
// is never queued twice. When a run starts late, its next run is the
// first slot at least one interval after that start: when the checker
// falls behind, every interval stretches (by whole slots, keeping the
// spread) instead of runs piling up, and Stretch reports it per check:
// the time between the last two starts, its ratio to the interval and
// how late the last run started. Backlog counts the checks waiting for a
// worker. The Scheduler reads no clock either.
package check
