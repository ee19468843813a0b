package collector

import (
	"github.com/vigil-rmm/vigil/internal/duration"

	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"zero timeout", func(c *Config) { c.Disk.Timeout = 0 }, "collectors.disk.timeout: must be > 0"},
		{"negative timeout", func(c *Config) { c.CPU.Timeout = duration.Duration(-time.Second) }, "collectors.cpu.timeout: must be > 0"},
		{"timeout too long", func(c *Config) { c.Host.Timeout = duration.Duration(2 * time.Minute) }, "collectors.host.timeout: must be at most 1m0s"},
		{"disabled is still checked", func(c *Config) { c.Load.Enabled, c.Load.Timeout = false, 0 }, "collectors.load.timeout: must be > 0"},
		{"disk field", func(c *Config) { c.Disk.ExcludeFstypes = []string{""} }, "collectors.disk.exclude_fstypes[0]: must not be empty"},
		{
			"every problem, by collector name",
			func(c *Config) {
				c.Memory.Timeout = 0
				c.CPU.Timeout = 0
				c.Disk.ExcludeFstypes = []string{""}
				c.Disk.ExcludeMountPrefixes = []string{"rel"}
			},
			"collectors.cpu.timeout: must be > 0\n" +
				"collectors.disk.exclude_fstypes[0]: must not be empty\n" +
				`collectors.disk.exclude_mount_prefixes[0]: "rel" must be an absolute path` + "\n" +
				"collectors.memory.timeout: must be > 0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			tc.change(&cfg)
			if got := errString(cfg.Validate()); got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
