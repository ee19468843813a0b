// Package managev1 is the generated Go code for vigil.manage.v1, the API
// vigilctl and the console call on the controller (manage.proto).
package managev1
