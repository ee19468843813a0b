//go:build !linux

package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// unreachWatcher is Linux only: elsewhere an ICMP unreachable reply to
// a ping is reported as no reply (WR).
type unreachWatcher struct{}

func watchUnreachable(netip.Addr, int) (*unreachWatcher, error) {
	return nil, fmt.Errorf("watch unreachable: %w", errors.ErrUnsupported)
}

func (*unreachWatcher) wait(context.Context) (string, bool) { return "", false }
func (*unreachWatcher) close()                              {}
