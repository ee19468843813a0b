package reboot

import "runtime"

// goos is the running system.
const goos = runtime.GOOS
