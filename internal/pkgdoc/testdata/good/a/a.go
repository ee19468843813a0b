// Package a is documented.
package a
