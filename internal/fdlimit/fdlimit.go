// Package fdlimit raises the process's open-file limit. The controller
// holds one socket per connected agent, so tens of thousands of agents
// need far more than the usual default of 1024.
package fdlimit

// Raise lifts the soft open-file limit to at least want if it can (as far
// as the hard limit allows, or further when the process may raise the hard
// limit too) and returns the limit now in force.
func Raise(want uint64) (uint64, error) { return raise(want) }
