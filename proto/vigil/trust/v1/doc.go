// Package trustv1 is the generated Go code for vigil.trust.v1, the signed
// action format shared by vigilctl (which signs), the controller (which
// checks and stores) and the agent (which verifies before it runs anything).
package trustv1
