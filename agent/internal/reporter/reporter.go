// Package reporter turns collector samples into outbox reports: a metrics
// report every interval, a facts report only when the facts changed (their
// hash is kept in the state directory so a restart does not resend them),
// and an outbox status report when the bounded outbox dropped samples.
package reporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/agent/internal/collector"
	"github.com/vigil-rmm/vigil/internal/limits"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

// Appender persists reports.
type Appender interface {
	Append(ctx context.Context, r *agentv1.Report) (uint64, error)
	AppendStatus(ctx context.Context) (bool, error)
}

// Sampler collects one sample.
type Sampler interface {
	Collect(ctx context.Context) (*collector.Sample, []error)
}

// Config wires a reporter.
type Config struct {
	Interval     time.Duration
	Sampler      Sampler
	Outbox       Appender
	FactsFile    string // where the last facts hash is kept
	AgentVersion string
	Logger       *slog.Logger
	Now          func() time.Time
}

// Reporter samples on a ticker.
type Reporter struct {
	cfg       Config
	logger    *slog.Logger
	factsHash []byte
}

// New returns a reporter.
func New(cfg Config) *Reporter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Reporter{cfg: cfg, logger: cfg.Logger.With("component", "reporter")}
	if b, err := os.ReadFile(cfg.FactsFile); err == nil {
		r.factsHash = b
	}
	return r
}

// Run samples immediately and then every interval until ctx ends.
func (r *Reporter) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		if err := r.Once(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The outbox is the agent's memory; if it cannot write, stop
			// loudly rather than sample into the void.
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once takes one sample and appends its reports.
func (r *Reporter) Once(ctx context.Context) error {
	s, errs := r.cfg.Sampler.Collect(ctx)
	for _, err := range errs {
		r.logger.WarnContext(ctx, "collector", "err", err)
	}
	now := r.cfg.Now().UnixMilli()
	if s.Facts != nil {
		s.Facts.AgentVersion = r.cfg.AgentVersion
		limits.CleanFacts(s.Facts)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s.Facts)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if !bytes.Equal(sum[:], r.factsHash) {
			if _, err := r.cfg.Outbox.Append(ctx, &agentv1.Report{TimeUnixMs: now, Body: &agentv1.Report_Facts{Facts: s.Facts}}); err != nil {
				return fmt.Errorf("append facts: %w", err)
			}
			if err := os.WriteFile(r.cfg.FactsFile, sum[:], 0o600); err != nil {
				r.logger.WarnContext(ctx, "remember facts hash", "err", err)
			}
			r.factsHash = sum[:]
			r.logger.InfoContext(ctx, "facts changed", "hostname", s.Facts.GetHostname(), "kernel", s.Facts.GetKernelVersion())
		}
	}
	if s.Metrics == nil {
		return errors.New("no metrics collected")
	}
	if dropped := limits.CleanMetrics(s.Metrics); dropped > 0 {
		r.logger.WarnContext(ctx, "too many volumes; reporting the largest", "volumes", len(s.Metrics.GetVolumes())+dropped,
			"reported", limits.MaxVolumes)
	}
	rep := &agentv1.Report{TimeUnixMs: now, Body: &agentv1.Report_Metrics{Metrics: s.Metrics}}
	if n := proto.Size(rep); n > limits.MaxReport {
		// Never queue what the controller would refuse: it would wedge the outbox.
		r.logger.ErrorContext(ctx, "metrics report too large; sample dropped", "bytes", n, "limit", limits.MaxReport)
		return nil
	}
	if _, err := r.cfg.Outbox.Append(ctx, rep); err != nil {
		return fmt.Errorf("append metrics: %w", err)
	}
	if _, err := r.cfg.Outbox.AppendStatus(ctx); err != nil {
		return fmt.Errorf("append outbox status: %w", err)
	}
	return nil
}
