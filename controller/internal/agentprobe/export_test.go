package agentprobe

import "time"

// SetMargin shortens the wait beyond a spec's timeout, so a test of an
// agent that never answers does not wait Margin.
func SetMargin(r *Registry, d time.Duration) { r.margin = d }
