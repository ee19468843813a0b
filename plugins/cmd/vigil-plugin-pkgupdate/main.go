// Command vigil-plugin-pkgupdate is the agent's Linux patch plugin: it
// lists pending apt or dnf updates as a PatchScan and upgrades packages
// (see package pkgupdate).
package main

import (
	"github.com/vigil-rmm/vigil/plugins/pkgupdate"
	"github.com/vigil-rmm/vigil/plugins/sdk"
)

func main() { sdk.Serve(pkgupdate.New(pkgupdate.Config{})) }
