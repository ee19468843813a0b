package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-rmm/vigil/controller/internal/auth"
	"github.com/vigil-rmm/vigil/controller/internal/manageapi"
	"github.com/vigil-rmm/vigil/controller/internal/pki"
	"github.com/vigil-rmm/vigil/controller/internal/store"
	"github.com/vigil-rmm/vigil/controller/internal/store/schema"
	"github.com/vigil-rmm/vigil/internal/pin"
)

// InitResult is what `vigil-controller init` reports.
type InitResult struct {
	// CAPin is the pin agents are given at enrollment.
	CAPin string
	// CAPEM is the CA certificate, for client configs.
	CAPEM []byte
	// AdminName and AdminToken are the first admin principal's credentials.
	AdminName  string
	AdminToken string
}

// Init creates the data directory, the CA and serving certificate for
// hosts, the store with its schema, and an admin principal.
func Init(ctx context.Context, dataDir string, hosts []string, adminName string) (*InitResult, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, StoreFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a controller store; refusing to initialise again", dataDir)
	}
	now := time.Now()
	ca, err := pki.Init(dataDir, hosts, now)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenBolt(filepath.Join(dataDir, StoreFile), store.BoltOptions{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := schema.Open(ctx, st); err != nil {
		return nil, err
	}
	p, token, err := manageapi.NewPrincipal(adminName, auth.RoleAdmin, "", now)
	if err != nil {
		return nil, err
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return schema.CreatePrincipal(tx, p) }); err != nil {
		return nil, err
	}
	return &InitResult{CAPin: pin.Of(ca.Cert), CAPEM: pki.CertPEM(ca.Cert.Raw), AdminName: adminName, AdminToken: token}, nil
}
