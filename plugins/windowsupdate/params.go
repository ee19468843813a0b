package windowsupdate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-rmm/vigil/plugins/sdk"
)

// ServerSelection is the WUA ServerSelection enum (IUpdateSearcher).
type ServerSelection int

// ServerSelection values (platform-notes §1.2).
const (
	SSDefault       ServerSelection = 0
	SSManagedServer ServerSelection = 1
	SSWindowsUpdate ServerSelection = 2
	SSOthers        ServerSelection = 3
)

// MicrosoftUpdateServiceID is the service ID of Microsoft Update (Windows
// plus Office, .NET, SQL Server …). Searching it needs the service to be
// registered on the host (ServiceManager.AddService2); Inspect only reads,
// so it never registers it and an unregistered service fails the search.
const MicrosoftUpdateServiceID = "7971f918-a847-4430-9279-4a52d1efe18d"

// Parameter names.
const (
	paramOnline         = "online"
	paramService        = "service"
	paramIncludeDrivers = "include_drivers"
)

// services maps the "service" parameter to ServerSelection and ServiceID.
var services = map[string]struct {
	server    ServerSelection
	serviceID string
}{
	"default":          {SSDefault, ""},
	"wsus":             {SSManagedServer, ""},
	"windows_update":   {SSWindowsUpdate, ""},
	"microsoft_update": {SSOthers, MicrosoftUpdateServiceID},
}

func serviceNames() []string {
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// parameterSpecs is the schema Info reports.
func parameterSpecs() []*sdk.ParameterSpec {
	return []*sdk.ParameterSpec{
		{Name: paramOnline, Type: "bool", Description: "search online against the service (default true); false searches the metadata WUA already holds"},
		{Name: paramService, Type: "string", Description: "update service: " + strings.Join(serviceNames(), ", ") + " (default: default, the host's configured service)"},
		{Name: paramIncludeDrivers, Type: "bool", Description: "include driver updates (default false)"},
	}
}

// config is a validated set of parameters.
type config struct {
	online         bool
	server         ServerSelection
	serviceID      string
	includeDrivers bool
}

// parseParams validates params. Its errors are gRPC InvalidArgument errors
// that name the parameter.
func parseParams(params map[string]string) (config, error) {
	c := config{online: true, server: SSDefault}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.TrimSpace(params[k])
		var err error
		switch k {
		case paramOnline:
			c.online, err = strconv.ParseBool(v)
		case paramIncludeDrivers:
			c.includeDrivers, err = strconv.ParseBool(v)
		case paramService:
			s, ok := services[strings.ToLower(v)]
			if !ok {
				err = fmt.Errorf("%q is not one of %s", v, strings.Join(serviceNames(), ", "))
			}
			c.server, c.serviceID = s.server, s.serviceID
		default:
			return config{}, status.Errorf(codes.InvalidArgument, "parameter %q: unknown", k)
		}
		if err != nil {
			return config{}, status.Errorf(codes.InvalidArgument, "parameter %q: %v", k, err)
		}
	}
	return c, nil
}
