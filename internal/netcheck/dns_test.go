package netcheck_test

import (
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/internal/netcheck"
)

// dnsServer is a tiny authoritative UDP responder on loopback: it answers
// A queries for the names in records, NXDOMAIN for every other name, and
// stays silent for names in silent (to test timeouts).
type dnsServer struct {
	conn    net.PacketConn
	records map[string]net.IP // lower-case FQDN -> IPv4
	silent  map[string]bool
	wg      sync.WaitGroup
}

func newDNSServer(t *testing.T, records map[string]net.IP, silent ...string) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, records: records, silent: map[string]bool{}}
	for _, n := range silent {
		s.silent[n] = true
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		conn.Close()
		s.wg.Wait()
	})
	return s
}

func (s *dnsServer) addr() string { return s.conn.LocalAddr().String() }

func (s *dnsServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 512)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply := s.answer(buf[:n]); reply != nil {
			_, _ = s.conn.WriteTo(reply, from)
		}
	}
}

// answer builds the reply to one query, or nil to drop it.
func (s *dnsServer) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	// The question: labels, then type and class.
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++ // the root label
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	if s.silent[name] {
		return nil
	}

	ip, known := s.records[name]
	const qr, aa, rd = 1 << 15, 1 << 10, 1 << 8
	flags := uint16(qr | aa | (binary.BigEndian.Uint16(q[2:4]) & rd))
	var answers uint16
	var rr []byte
	switch {
	case !known:
		flags |= 3 // NXDOMAIN
	case qtype == 1: // A
		answers = 1
		rr = binary.BigEndian.AppendUint16(rr, 0xC00C) // pointer to the question's name
		rr = binary.BigEndian.AppendUint16(rr, 1)      // A
		rr = binary.BigEndian.AppendUint16(rr, 1)      // IN
		rr = binary.BigEndian.AppendUint32(rr, 60)     // TTL
		rr = binary.BigEndian.AppendUint16(rr, 4)
		rr = append(rr, ip.To4()...)
	}
	// Otherwise NODATA: the name exists, no record of the type.
	out := append([]byte(nil), q[0:2]...) // id
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, 1) // questions
	out = binary.BigEndian.AppendUint16(out, answers)
	out = binary.BigEndian.AppendUint16(out, 0)
	out = binary.BigEndian.AppendUint16(out, 0)
	out = append(out, question...)
	return append(out, rr...)
}

func TestDNS(t *testing.T) {
	srv := newDNSServer(t, map[string]net.IP{
		"www.example.test.": net.ParseIP("192.0.2.10"),
	}, "slow.example.test.")
	host, closed := closedPort(t)
	closedServer := net.JoinHostPort(host, strconv.Itoa(closed))

	tests := []struct {
		name string
		p    netcheck.DNS
		want netcheck.Status
	}{
		{"A record", netcheck.DNS{Name: "www.example.test", Server: srv.addr()}, netcheck.OK},
		{"A record, expected address", netcheck.DNS{Name: "www.example.test.", Server: srv.addr(), Expect: "192.0.2.10"}, netcheck.OK},
		{"A record, other address", netcheck.DNS{Name: "www.example.test", Server: srv.addr(), Expect: "192.0.2.99"}, netcheck.NG},
		{"NXDOMAIN", netcheck.DNS{Name: "missing.example.test", Server: srv.addr()}, netcheck.NG},
		{"NODATA", netcheck.DNS{Name: "www.example.test", Type: netcheck.TypeMX, Server: srv.addr()}, netcheck.NG},
		{"no answer", netcheck.DNS{Name: "slow.example.test", Server: srv.addr()}, netcheck.WR},
		{"server port closed", netcheck.DNS{Name: "www.example.test", Server: closedServer}, netcheck.NG},
		{"bad server", netcheck.DNS{Name: "www.example.test", Server: "not a server"}, netcheck.ERR},
		{"bad type", netcheck.DNS{Name: "www.example.test", Type: "SRV", Server: srv.addr()}, netcheck.ERR},
		{"no name", netcheck.DNS{Server: srv.addr()}, netcheck.ERR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, &tc.p, time.Second); got.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", got.Status, tc.want, got.Detail)
			}
		})
	}
}
