// Package report builds a tenant's downloadable report (vigilctl report):
// agent availability, network check availability, metric summaries and
// alerts over a period of up to 90 days. The manage API adds the patch
// compliance section, computed by the same code as GetPatchCompliance.
//
// # Days
//
// Days are calendar days in the tenant's time zone, as the client lives
// them: a day of a zone's daylight saving change has 23 or 25 hours, and
// its expected minutes say so. The period is rounded to whole minutes
// (since up, until down) so that every figure counts whole minutes.
//
// # Agent availability
//
// An agent is online in a minute (a minute of Unix time) when a metrics
// sample was taken in it. Agents sample every minute, but a sample can
// land a little late or early; so the minutes strictly between two
// consecutive samples at most GapTolerance apart count as online too. A
// missing sample therefore costs one minute, and a sample that slipped
// across a minute boundary costs none. The expected minutes of a day are
// those inside the period and inside the agent's enrolled life (from
// enrollment to revocation).
//
// # Check availability
//
// Per check and vantage point, results are counted by status; uptime is
// OK / (OK + NG + WR), and ERR results (the check could not start) are
// counted but left out. An outage is a run of NG or WR results that
// follows an OK result; it is counted on the day of its first result.
// Down time runs from a run's first NG or WR result to the next OK
// result; a run still going at the end of the results lasts one check
// interval past its last result, capped at the end of the period. ERR
// results neither end nor start a run.
//
// # Metric summaries
//
// Per agent and day: CPU mean, 95th percentile (nearest rank: the
// smallest value at least 95% of the samples do not exceed) and maximum;
// memory mean and maximum percent used; swap maximum percent; one-minute
// load maximum; each volume's lowest free percent.
//
// # Bounded work
//
// A report covers at most MaxAgents agents and MaxChecks checks. Samples
// are read in batches of one day's worth (BatchSize) and folded into
// per-day accumulators, so memory does not grow with the period: an
// agent holds one day's CPU values at a time. At most Options.Parallel
// agents are read at once and at most two reports are built at once; a
// third waits for its turn (or its caller's deadline).
package report
