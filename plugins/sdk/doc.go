// Package sdk is the public contract between vigil-agent and its task-runner
// plugins: the go-plugin handshake, the Plugin interface and its optional
// capabilities (Inspector, Runner), the gRPC adapters both ways, and Serve.
//
// A plugin's main is one call:
//
//	func main() { sdk.Serve(myplugin.New()) }
//
// A plugin never writes to stdout: go-plugin's handshake line goes there.
// Log with Logger, which writes hclog JSON lines to stderr that the host
// re-emits at their level.
//
// sdk imports only proto/ and third-party packages.
package sdk
