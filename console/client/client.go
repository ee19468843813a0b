// Package client is the typed Go client of the vigil manage API. It depends
// only on the generated protos, gRPC and the standard library, so other
// programs can embed it.
//
//	c, err := client.Dial(ctx, client.Options{Address: "ctl:7444", CAPEM: pem, Token: tok})
//	agents, err := c.ListAgents(ctx, &managev1.ListAgentsRequest{})
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
)

// Options say where the controller is and who is calling.
type Options struct {
	// Address is the API listener, host:port.
	Address string
	// CAPEM is the controller CA certificate.
	CAPEM []byte
	// Token is the principal's API token.
	Token string
	// ServerName overrides the name checked in the controller's
	// certificate; by default the host part of Address.
	ServerName string
}

// Client is a connection to the manage API. Its methods are those of
// every service on the API listener: managev1.ManageServiceClient,
// AlertServiceClient, CheckServiceClient, NotifyServiceClient and
// ReportServiceClient.
type Client struct {
	managev1.ManageServiceClient
	managev1.AlertServiceClient
	managev1.CheckServiceClient
	managev1.NotifyServiceClient
	managev1.ReportServiceClient
	conn *grpc.ClientConn
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }

// Dial connects lazily; the first call establishes the connection.
func Dial(_ context.Context, o Options) (*Client, error) {
	if o.Address == "" {
		return nil, errors.New("client: address required")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(o.CAPEM) {
		return nil, errors.New("client: CA certificate: no PEM certificate found")
	}
	tc := &tls.Config{RootCAs: pool, ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient("passthrough:///"+o.Address,
		grpc.WithTransportCredentials(credentials.NewTLS(tc)),
		grpc.WithPerRPCCredentials(bearer(o.Token)),
	)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &Client{
		ManageServiceClient: managev1.NewManageServiceClient(conn),
		AlertServiceClient:  managev1.NewAlertServiceClient(conn),
		CheckServiceClient:  managev1.NewCheckServiceClient(conn),
		NotifyServiceClient: managev1.NewNotifyServiceClient(conn),
		ReportServiceClient: managev1.NewReportServiceClient(conn),
		conn:                conn,
	}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }
