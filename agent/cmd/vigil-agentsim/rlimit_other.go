//go:build !linux

package main

import (
	"log/slog"
	"time"
)

func nowMS() int64 { return time.Now().UnixMilli() }

func raiseFileLimit(*slog.Logger) {}
