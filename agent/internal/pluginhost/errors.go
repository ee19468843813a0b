package pluginhost

import "errors"

// ErrUnknownPlugin means the manifest has no entry for the plugin name.
var ErrUnknownPlugin = errors.New("plugin not in manifest")

// ErrChecksum means the plugin binary's SHA-256 differs from the manifest;
// the binary was not started.
var ErrChecksum = errors.New("plugin checksum mismatch")

// ErrCrashed means the plugin process exited during a call. It is killed and
// forgotten; the next call starts it again.
var ErrCrashed = errors.New("plugin crashed")

// ErrTimeout means a call ran past its deadline; the plugin process and its
// children were killed.
var ErrTimeout = errors.New("plugin call timed out")

// ErrClosed means the Host was closed.
var ErrClosed = errors.New("plugin host closed")

// ErrNotAllowed means the host was configured not to start the plugin
// (Config.Only): a monitor-only agent starts its scanner plugins only.
var ErrNotAllowed = errors.New("plugin not allowed to start")
