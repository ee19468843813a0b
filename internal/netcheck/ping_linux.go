package netcheck

import (
	"fmt"
	"os"
)

// pingGroupRangePath is read once per run: the setting can change.
const pingGroupRangePath = "/proc/sys/net/ipv4/ping_group_range"

// autoPrivileged uses an unprivileged ICMP socket when ping_group_range
// allows one of the process's groups, a raw socket otherwise (which
// needs root or CAP_NET_RAW; without them the run is ERR).
func autoPrivileged() (bool, string) {
	b, err := os.ReadFile(pingGroupRangePath)
	if err != nil {
		return true, fmt.Sprintf("raw socket: %v", err)
	}
	lo, hi, err := parsePingGroupRange(string(b))
	if err != nil {
		return true, "raw socket: " + err.Error()
	}
	gids, _ := os.Getgroups()
	gids = append(gids, os.Getegid())
	if groupAllowed(lo, hi, gids) {
		return false, fmt.Sprintf("unprivileged socket: ping_group_range %d-%d allows the process's group", lo, hi)
	}
	return true, fmt.Sprintf("raw socket: ping_group_range %d-%d allows none of the process's groups", lo, hi)
}
