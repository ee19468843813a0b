package cpu

import (
	"context"
	"errors"
	"strings"

	"github.com/shirou/gopsutil/v4/cpu"
)

// model returns the first CPU's model name from /proc/cpuinfo.
func model(ctx context.Context) (string, error) {
	infos, err := cpu.InfoWithContext(ctx)
	if err != nil {
		return "", err
	}
	for _, in := range infos {
		if m := strings.TrimSpace(in.ModelName); m != "" {
			return m, nil
		}
	}
	return "", errors.New("no model name in cpuinfo")
}
