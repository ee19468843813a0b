// Command vigil-plugin-service is the task-runner plugin that starts,
// stops, restarts or reports a system service; see package service.
package main

import (
	"github.com/vigil-rmm/vigil/plugins/sdk"
	"github.com/vigil-rmm/vigil/plugins/service"
)

func main() { sdk.Serve(service.New(service.Config{})) }
