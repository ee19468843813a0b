package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rmm/vigil/controller/controllertest"
	"github.com/vigil-rmm/vigil/controller/internal/server"
	"github.com/vigil-rmm/vigil/internal/duration"
)

func TestDebugVars(t *testing.T) {
	c := controllertest.Start(t, func(cfg *server.Config) { cfg.DebugListen = "127.0.0.1:0" })
	c.Tenant(t, "acme")
	resp, err := http.Get("http://" + c.Server().DebugAddr() + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Goroutines   int               `json:"goroutines"`
		OpenFiles    int               `json:"open_files"`
		AgentsOnline int               `json:"agents_online"`
		Ingest       map[string]uint64 `json:"ingest"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Goroutines == 0 || v.OpenFiles <= 0 || v.Ingest == nil {
		t.Fatalf("vars %+v", v)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]func(*server.Config){
		"data_dir":        func(c *server.Config) { c.DataDir = "" },
		"agent_listen":    func(c *server.Config) { c.AgentListen = "nope" },
		"must differ":     func(c *server.Config) { c.APIListen = c.AgentListen },
		"retention":       func(c *server.Config) { c.Retention = 0 },
		"loopback":        func(c *server.Config) { c.DebugListen = "0.0.0.0:7445" },
		"alerts.interval": func(c *server.Config) { c.Alerts.Interval = duration.Duration(time.Second) },
		"alerts.retention": func(c *server.Config) {
			c.Alerts.Retention = duration.Duration(24 * time.Hour)
		},
		"notify.retention":  func(c *server.Config) { c.Notify.Retention = duration.Duration(time.Minute) },
		"notify.retry_base": func(c *server.Config) { c.Notify.RetryBase = duration.Duration(time.Hour) },
		"checks.workers":    func(c *server.Config) { c.Checks.Workers = -1 },
		"checks.max_checks": func(c *server.Config) { c.Checks.MaxChecks = 100001 },
		"notify.max_age":    func(c *server.Config) { c.Notify.MaxAge = duration.Duration(-time.Minute) },
		"alerts.verify_grace": func(c *server.Config) {
			c.Alerts.VerifyGrace = duration.Duration(25 * time.Hour)
		},
	}
	for want, mutate := range cases {
		c := server.Default()
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Validate() = %v", want, err)
		}
	}
	if err := server.Default().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	// The ends of each optional range are accepted.
	c := server.Default()
	c.Notify.MaxAge, c.Notify.RetryBase = duration.Duration(time.Minute), duration.Duration(10*time.Minute)
	c.Checks.Workers, c.Checks.MaxChecks = 1024, 1
	c.Alerts.Interval, c.Alerts.VerifyGrace = duration.Duration(10*time.Second), duration.Duration(24*time.Hour)
	if err := c.Validate(); err != nil {
		t.Fatalf("range ends refused: %v", err)
	}
}
