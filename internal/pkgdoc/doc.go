// Package pkgdoc holds a test that every package in the module has exactly
// one package doc comment.
package pkgdoc
