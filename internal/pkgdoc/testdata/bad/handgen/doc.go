// Package hv1 is documented by hand.
package hv1
