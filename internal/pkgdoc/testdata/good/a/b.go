// Copyright header, detached.

package a
