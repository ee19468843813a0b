package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-rmm/vigil/agent/internal/enroll"
	"github.com/vigil-rmm/vigil/internal/pin"
	agentv1 "github.com/vigil-rmm/vigil/proto/vigil/agent/v1"
)

type identity struct {
	id     string
	tenant string // empty for identities enrolled before it was recorded
	cert   tls.Certificate
}

type identities struct {
	list  []identity
	ca    *x509.Certificate
	fresh int
}

// identityRecord is one line of identities.jsonl; the first line is a
// header naming the CA pin the identities belong to.
type identityRecord struct {
	CAPin   string `json:"ca_pin,omitempty"`
	CADER   []byte `json:"ca_der,omitempty"`
	AgentID string `json:"agent_id,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	KeyDER  []byte `json:"key_der,omitempty"`
	CertDER []byte `json:"cert_der,omitempty"`
}

// loadOrEnroll reuses identities enrolled by earlier runs against the same
// controller CA and enrolls the missing ones with o.Token.
func loadOrEnroll(ctx context.Context, o Options, logger *slog.Logger) (*identities, error) {
	path := filepath.Join(o.StateDir, "identities.jsonl")
	ids := &identities{}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			var r identityRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				break
			}
			if first {
				first = false
				if r.CAPin != o.CAPin {
					ids.list = nil
					break
				}
				ids.ca, _ = x509.ParseCertificate(r.CADER)
				continue
			}
			key, err := x509.ParsePKCS8PrivateKey(r.KeyDER)
			if err != nil {
				break
			}
			ids.list = append(ids.list, identity{id: r.AgentID, tenant: r.Tenant, cert: tls.Certificate{Certificate: [][]byte{r.CertDER}, PrivateKey: key}})
		}
		f.Close()
		if ids.ca == nil {
			ids.list = nil
		}
	}
	missing := o.Agents - len(ids.list)
	if missing <= 0 {
		ids.list = ids.list[:o.Agents]
		return ids, nil
	}
	if o.Token == "" {
		return nil, fmt.Errorf("%d agents to enroll and no --token", missing)
	}
	digest, _ := pin.Parse(o.CAPin)
	host, _, _ := net.SplitHostPort(o.Controller)
	pinned, tc := enroll.PinnedTLS(digest, host)
	conn, err := grpc.NewClient("passthrough:///"+o.Controller, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	client := agentv1.NewAgentServiceClient(conn)

	appendMode := os.O_APPEND | os.O_WRONLY | os.O_CREATE
	if len(ids.list) == 0 {
		appendMode |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, appendMode, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)

	type result struct {
		rec identityRecord
		id  identity
		err error
	}
	jobs := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range o.EnrollWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				key, resp, cert, err := enroll.Request(cctx, client, o.Token, fmt.Sprintf("sim-%05d", i))
				cancel()
				if err != nil {
					results <- result{err: err}
					continue
				}
				keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
				results <- result{
					rec: identityRecord{AgentID: resp.GetAgentId(), Tenant: resp.GetTenant(), KeyDER: keyDER, CertDER: cert.Raw},
					id:  identity{id: resp.GetAgentId(), tenant: resp.GetTenant(), cert: tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}},
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := len(ids.list); i < o.Agents; i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var firstErr error
	headerDone := len(ids.list) > 0
	for r := range results {
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		if !headerDone {
			ca, err := pinned()
			if err != nil {
				return nil, err
			}
			ids.ca = ca
			if err := enc.Encode(identityRecord{CAPin: o.CAPin, CADER: ca.Raw}); err != nil {
				return nil, err
			}
			headerDone = true
		}
		if err := enc.Encode(r.rec); err != nil {
			return nil, err
		}
		ids.list = append(ids.list, r.id)
		ids.fresh++
		if ids.fresh%1000 == 0 {
			logger.Info("enrolling", "done", len(ids.list), "of", o.Agents)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, fmt.Errorf("enroll: %w (%d of %d agents have identities)", firstErr, len(ids.list), o.Agents)
	}
	if ids.ca == nil {
		return nil, errors.New("no CA learned from the controller")
	}
	return ids, nil
}
