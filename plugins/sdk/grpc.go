package sdk

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/vigil-rmm/vigil/proto/vigil/plugin/v1"
)

// GRPCPlugin is the go-plugin glue: it serves Impl on the plugin side and
// dispenses a *Client on the host side.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the plugin's implementation; nil on the host side.
	Impl Plugin
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers Impl on s.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("sdk: no plugin implementation to serve")
	}
	pluginv1.RegisterPluginServer(s, NewServer(p.Impl))
	return nil
}

// GRPCClient returns a *Client over c.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewClient(c), nil
}

// server adapts a Plugin to the generated gRPC service.
type server struct {
	pluginv1.UnimplementedPluginServer
	impl Plugin
}

// NewServer adapts p to the gRPC service. Missing capabilities answer
// codes.Unimplemented.
func NewServer(p Plugin) pluginv1.PluginServer {
	return &server{impl: p}
}

func (s *server) Info(ctx context.Context, _ *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info == nil {
		info = &pluginv1.InfoResponse{}
	}
	if _, ok := s.impl.(Inspector); ok && !slices.Contains(info.Capabilities, CapInspect) {
		info.Capabilities = append(info.Capabilities, CapInspect)
	}
	if _, ok := s.impl.(Runner); ok && !slices.Contains(info.Capabilities, CapRun) {
		info.Capabilities = append(info.Capabilities, CapRun)
	}
	return info, nil
}

func (s *server) Inspect(ctx context.Context, req *pluginv1.InspectRequest) (*pluginv1.InspectResponse, error) {
	in, ok := s.impl.(Inspector)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "plugin does not implement inspect")
	}
	resp, err := in.Inspect(ctx, req.GetParameters())
	if err != nil {
		return nil, err
	}
	if resp == nil {
		resp = &pluginv1.InspectResponse{}
	}
	return resp, nil
}

func (s *server) Run(req *pluginv1.RunRequest, stream grpc.ServerStreamingServer[pluginv1.RunEvent]) error {
	r, ok := s.impl.(Runner)
	if !ok {
		return status.Error(codes.Unimplemented, "plugin does not implement run")
	}
	return r.Run(stream.Context(), req, stream.Send)
}

// Client is the host side: it implements Plugin, Inspector and Runner over
// gRPC. A capability the plugin lacks fails with codes.Unimplemented.
type Client struct {
	c pluginv1.PluginClient
}

var (
	_ Plugin    = (*Client)(nil)
	_ Inspector = (*Client)(nil)
	_ Runner    = (*Client)(nil)
)

// NewClient returns a Client over conn.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{c: pluginv1.NewPluginClient(conn)}
}

// Info calls the plugin's Info.
func (c *Client) Info(ctx context.Context) (*InfoResponse, error) {
	return c.c.Info(ctx, &pluginv1.InfoRequest{})
}

// Inspect calls the plugin's Inspect.
func (c *Client) Inspect(ctx context.Context, params map[string]string) (*InspectResponse, error) {
	return c.c.Inspect(ctx, &pluginv1.InspectRequest{Parameters: params})
}

// Run calls the plugin's Run and passes every event to emit. It returns
// when the stream ends, ctx is cancelled, or emit fails (that error).
func (c *Client) Run(ctx context.Context, req *RunRequest, emit func(*RunEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.c.Run(ctx, req)
	if err != nil {
		return err
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := emit(ev); err != nil {
			return err
		}
	}
}
