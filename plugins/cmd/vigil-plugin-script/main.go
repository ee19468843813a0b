// Command vigil-plugin-script is the task-runner plugin that runs an
// inline script; see package script.
package main

import (
	"github.com/vigil-rmm/vigil/plugins/script"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

func main() { sdk.Serve(script.New(script.Config{})) }
