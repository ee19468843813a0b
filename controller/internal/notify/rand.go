package notify

import "math/rand/v2"

// randFloat is the default jitter source.
func randFloat() float64 { return rand.Float64() }
