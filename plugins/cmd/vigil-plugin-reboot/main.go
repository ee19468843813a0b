// Command vigil-plugin-reboot is the task-runner plugin that reboots the
// host after a grace period; see package reboot.
package main

import (
	"github.com/vigil-rmm/vigil/plugins/reboot"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

func main() { sdk.Serve(reboot.New(reboot.Config{})) }
