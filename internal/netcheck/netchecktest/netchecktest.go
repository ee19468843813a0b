// Package netchecktest holds the loopback TCP peers that tests of network
// checks probe: a listener that accepts and closes every connection, and a
// port nothing listens on.
package netchecktest

import (
	"net"
	"sync/atomic"
	"testing"
)

// Listener is a TCP listener on 127.0.0.1 that accepts every connection,
// closes it at once and counts it.
type Listener struct {
	// Port is the listener's port.
	Port     int
	accepted atomic.Int64
}

// Listen starts a Listener; it stops, and its goroutine ends, when the
// test is cleaned up.
func Listen(t testing.TB) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{Port: ln.Addr().(*net.TCPAddr).Port}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return l
}

// Accepted is how many connections the listener has accepted.
func (l *Listener) Accepted() int64 { return l.accepted.Load() }

// ClosedPort returns a port on 127.0.0.1 that nothing listens on: one a
// listener held and released.
func ClosedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
