// Package yv1 has a hand-written doc.go.
package yv1
