// Package storev1 is the generated Go code for vigil.store.v1, the records
// vigil-controller keeps in its store (store.proto).
package storev1
