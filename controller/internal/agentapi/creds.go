package agentapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Credentials returns the agent listener's transport credentials: TLS with
// cfg, and each connection's AuthInfo also carries the connection, so a
// stream handler can close it (see Connect). The agent listener must use
// these; Connect refuses a stream without them.
func Credentials(cfg *tls.Config) credentials.TransportCredentials {
	return connCreds{credentials.NewTLS(cfg)}
}

// ConnInfo is the AuthInfo of an agent connection: the TLS state, and the
// connection itself.
type ConnInfo struct {
	credentials.TLSInfo
	conn net.Conn
}

type connCreds struct {
	credentials.TransportCredentials
}

func (c connCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, ai, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return nil, nil, err
	}
	ti, ok := ai.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return nil, nil, errors.New("agentapi: TLS handshake gave no TLS state")
	}
	return conn, ConnInfo{TLSInfo: ti, conn: conn}, nil
}

func (c connCreds) Clone() credentials.TransportCredentials {
	return connCreds{c.TransportCredentials.Clone()}
}

// connOf returns the stream's connection, from its ConnInfo.
func connOf(ctx context.Context) (net.Conn, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	ci, ok := p.AuthInfo.(ConnInfo)
	return ci.conn, ok
}
