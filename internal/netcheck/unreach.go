package netcheck

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// unreachableCodes names the codes of ICMP destination unreachable.
var unreachableCodes = map[byte]string{
	0:  "network unreachable",
	1:  "host unreachable",
	2:  "protocol unreachable",
	3:  "port unreachable",
	9:  "network administratively prohibited",
	10: "host administratively prohibited",
	13: "communication administratively prohibited",
}

// parseUnreachable reads an ICMPv4 message (without its IP header) and
// reports whether it is a destination unreachable about an echo request
// to dst with identifier id, and which.
func parseUnreachable(msg []byte, dst netip.Addr, id int) (string, bool) {
	const typeUnreachable, typeEcho, protoICMP = 3, 8, 1
	if len(msg) < 8+20 || msg[0] != typeUnreachable {
		return "", false
	}
	inner := msg[8:] // the IP header and first 8 bytes of what we sent
	ihl := int(inner[0]&0x0f) * 4
	if inner[0]>>4 != 4 || ihl < 20 || len(inner) < ihl+8 || inner[9] != protoICMP {
		return "", false
	}
	if netip.AddrFrom4([4]byte(inner[16:20])) != dst.Unmap() {
		return "", false
	}
	echo := inner[ihl:]
	if echo[0] != typeEcho || int(binary.BigEndian.Uint16(echo[4:6])) != id {
		return "", false
	}
	name, ok := unreachableCodes[msg[1]]
	if !ok {
		name = fmt.Sprintf("code %d", msg[1])
	}
	return "destination unreachable: " + name, true
}
