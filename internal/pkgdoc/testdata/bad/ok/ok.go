// Package ok is fine.
package ok
