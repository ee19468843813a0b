package main

// The trust commands (ADR 0010): the MSP's offline root key, principal
// certificates, and each principal's own signing key.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/pin"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

const (
	// certBackdate is how far before now a new certificate's validity
	// starts, so an agent whose clock is a little behind accepts it.
	certBackdate = envelope.DefaultSkew
	// maxCertValidity bounds trust certify --valid.
	maxCertValidity = 10 * 365 * 24 * time.Hour
)

// parseSpan reads a positive span: a whole number of days ("365d") or a
// Go duration ("90m", "12h").
func parseSpan(flagName, s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("--%s %q: want a positive duration such as 90m, 12h or 365d", flagName, s)
}

// trustInitView is what `trust init -o json` prints.
type trustInitView struct {
	KeyFile     string         `json:"key_file"`
	Fingerprint string         `json:"fingerprint"`
	PublicKey   string         `json:"public_key"`
	TrustRoot   *trustRootView `json:"trust_root"`
}

func trustInit(e *env, args []string) error {
	fs := flag.NewFlagSet("trust init", flag.ContinueOnError)
	keyFile := fs.String("key", "", "file to write the new root key to (required; never overwritten)")
	set := fs.Bool("set", false, "also record the root's fingerprint on the controller (admin)")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	if *keyFile == "" {
		return cli.Usagef("trust init: --key FILE is required: where to write the root key (keep it offline)")
	}
	pub, key, err := envelope.GenerateKey()
	if err != nil {
		return err
	}
	if err := envelope.WritePrivateKey(*keyFile, key); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--key %s: file exists; trust init never overwrites a key (a new root invalidates every certificate and agent pin): choose another path", *keyFile)
		}
		return fmt.Errorf("write root key: %w", err)
	}
	fp := envelope.Fingerprint(pub)
	v := trustInitView{KeyFile: *keyFile, Fingerprint: fp, PublicKey: envelope.EncodePublicKey(pub)}
	if *set {
		err := call(e, func(ctx context.Context, c *client.Client) error {
			r, err := c.SetTrustRoot(ctx, &managev1.SetTrustRootRequest{Fingerprint: fp})
			if err == nil {
				tr := trustRootOf(r)
				v.TrustRoot = &tr
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("root key written to %s, but recording it on the controller failed: %s (retry with `vigilctl trust set-root %s`)",
				*keyFile, cliMessage(err), fp)
		}
	}
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "root key written to %s (mode 0600)\nfingerprint: %s\n", *keyFile, fp)
	if v.TrustRoot != nil {
		fmt.Fprintln(e.stdout, "recorded on the controller as the trust root")
	} else {
		fmt.Fprintf(e.stdout, "record it on the controller: vigilctl trust set-root %s\n", fp)
	}
	fmt.Fprintf(e.stdout, "pin it on each agent:       vigil-agent enroll --trust-root %s ...\n", fp)
	fmt.Fprintf(e.stderr, "WARNING: keep %s offline (an encrypted USB key or a vault) and back it up: whoever holds it can certify\n"+
		"signers every agent trusts. It is needed only to certify keys (vigilctl trust certify).\n", *keyFile)
	return nil
}

func trustSetRoot(e *env, args []string) error {
	fs := flag.NewFlagSet("trust set-root", flag.ContinueOnError)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "FINGERPRINT")
	if err != nil {
		return err
	}
	if _, err := pin.Parse(pos[0]); err != nil {
		return cli.Usagef("trust set-root: FINGERPRINT %q: want sha256: followed by 64 hex digits, as trust init prints it", pos[0])
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.SetTrustRoot(ctx, &managev1.SetTrustRootRequest{Fingerprint: strings.TrimSpace(pos[0])})
		if err != nil {
			return err
		}
		return printTrustRoot(e, o, trustRootOf(r))
	})
}

func trustShow(e *env, args []string) error {
	fs := flag.NewFlagSet("trust show", flag.ContinueOnError)
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.GetTrustRoot(ctx, &managev1.GetTrustRootRequest{})
		if err != nil {
			return err
		}
		return printTrustRoot(e, o, trustRootOf(r))
	})
}

func printTrustRoot(e *env, o string, v trustRootView) error {
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	if v.Fingerprint == "" {
		fmt.Fprintln(e.stdout, "no trust root is set; an admin runs `vigilctl trust init --key FILE --set`")
		return nil
	}
	return table(e.stdout, []string{"FIELD", "VALUE"}, [][]string{
		{"fingerprint", v.Fingerprint}, {"set", ageSince(v.SetAt)}, {"set by", dash(v.SetBy)},
	})
}

// signingRoles are the roles a certificate may carry.
var signingRoles = []string{envelope.RoleTechnician, envelope.RoleClientApprover, envelope.RoleAdmin}

// certifyView is what `trust certify -o json` prints.
type certifyView struct {
	Certificate     certView `json:"certificate"`
	RootFingerprint string   `json:"root_fingerprint"`
	OutFile         string   `json:"out_file"`
	Registered      bool     `json:"registered"`
}

func trustCertify(e *env, args []string) error {
	fs := flag.NewFlagSet("trust certify", flag.ContinueOnError)
	rootFile := fs.String("root", "", "the MSP root key file (required)")
	principal := fs.String("principal", "", "the principal's name on the controller (required)")
	role := fs.String("role", "", "technician, client-approver or admin (required; as the principal's role)")
	tenant := fs.String("tenant", "", "tenant scope: required for client-approver; empty means every tenant")
	pubFlag := fs.String("public-key", "", "the principal's public key, ed25519:... as keys generate prints it (required)")
	valid := fs.String("valid", "365d", "validity from now: 90d, 720h, ... (at most 3650d)")
	register := fs.Bool("register", false, "send the certificate to the controller (admin)")
	out := fs.String("out", "", "write the certificate to this file (base64 text; never overwritten)")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	switch {
	case *rootFile == "":
		return cli.Usagef("trust certify: --root FILE is required (the key trust init wrote)")
	case *principal == "":
		return cli.Usagef("trust certify: --principal is required (the name principal list shows)")
	case !slices.Contains(signingRoles, *role):
		return cli.Usagef("trust certify: --role %q: want technician, client-approver or admin", *role)
	case *role == envelope.RoleClientApprover && *tenant == "":
		return cli.Usagef("trust certify: --role client-approver needs --tenant: an approver approves for one tenant")
	case *pubFlag == "":
		return cli.Usagef("trust certify: --public-key is required (the ed25519:... line of the principal's `vigilctl keys generate`)")
	case !*register && *out == "":
		return cli.Usagef("trust certify: give --register to send the certificate to the controller, --out FILE to write it, or both")
	}
	pub, err := envelope.ParsePublicKey(*pubFlag)
	if err != nil {
		return cli.Usagef("trust certify: --public-key: %v", err)
	}
	span, err := parseSpan("valid", *valid)
	if err != nil {
		return cli.Usagef("trust certify: %v", err)
	}
	if span > maxCertValidity {
		return cli.Usagef("trust certify: --valid %s: at most 3650d", *valid)
	}
	root, err := envelope.ReadPrivateKey(*rootFile)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	t := now()
	cert, err := envelope.Issue(root, &trustv1.CertificateBody{Principal: *principal, Role: *role, Tenant: *tenant, PublicKey: pub,
		NotBeforeUnix: t.Add(-certBackdate).Unix(), NotAfterUnix: t.Add(span).Unix()})
	if err != nil {
		return fmt.Errorf("issue certificate: %w", err)
	}
	raw, err := proto.Marshal(cert)
	if err != nil {
		return err
	}
	var body trustv1.CertificateBody
	if err := proto.Unmarshal(cert.GetBody(), &body); err != nil {
		return err
	}
	v := certifyView{Certificate: certBodyView(&body), RootFingerprint: envelope.Fingerprint(root.Public().(ed25519.PublicKey)), OutFile: *out}
	if *out != "" {
		if err := writeCertFile(*out, raw); err != nil {
			return err
		}
	}
	if *register {
		err := call(e, func(ctx context.Context, c *client.Client) error {
			info, err := c.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: raw})
			if err == nil {
				v.Certificate = certOf(info)
			}
			return err
		})
		if err != nil {
			if *out != "" {
				return fmt.Errorf("certificate written to %s, but registering it failed: %s (retry with `vigilctl trust register %s`)", *out, cliMessage(err), *out)
			}
			return err
		}
		v.Registered = true
	}
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	c := v.Certificate
	fmt.Fprintf(e.stdout, "certificate %s for %s (%s, %s), valid %s to %s\nroot: %s\n", c.Serial, c.Principal, c.Role, scopeLabel(c.Tenant),
		c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339), v.RootFingerprint)
	if v.Registered {
		fmt.Fprintln(e.stdout, "registered on the controller")
	} else {
		fmt.Fprintf(e.stdout, "not registered yet: run `vigilctl trust register %s` with an admin config\n", *out)
	}
	if *out != "" {
		fmt.Fprintf(e.stdout, "written to %s; give it to %s, who runs: vigilctl keys set-cert %s\n", *out, c.Principal, filepath.Base(*out))
	}
	return nil
}

// scopeLabel is "tenant acme" or "all tenants".
func scopeLabel(tenant string) string {
	if tenant == "" {
		return "all tenants"
	}
	return "tenant " + tenant
}

func certBodyView(b *trustv1.CertificateBody) certView {
	return certView{Serial: b.GetSerial(), Principal: b.GetPrincipal(), Role: b.GetRole(), Tenant: b.GetTenant(),
		PublicKeyFingerprint: envelope.Fingerprint(b.GetPublicKey()), NotBefore: unix(b.GetNotBeforeUnix()), NotAfter: unix(b.GetNotAfterUnix())}
}

// writeCertFile writes a serialized certificate as one line of base64
// (mode 0644: a certificate is public). It never overwrites a file.
func writeCertFile(path string, raw []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--out %s: file exists; choose another path", path)
		}
		return fmt.Errorf("--out: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("--out: %w", err)
	}
	return f.Close()
}

// readCertFile reads a certificate file: base64 text as trust certify
// --out writes it, or the serialized certificate itself.
func readCertFile(path string) (*trustv1.Certificate, *trustv1.CertificateBody, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	raw := b
	if d, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b))); err == nil {
		raw = d
	}
	cert, body, err := decodeCert(raw)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: not a vigil certificate (want the file `vigilctl trust certify --out` writes)", path)
	}
	return cert, body, raw, nil
}

// decodeCert decodes a serialized certificate and its body, unverified.
func decodeCert(raw []byte) (*trustv1.Certificate, *trustv1.CertificateBody, error) {
	var c trustv1.Certificate
	var b trustv1.CertificateBody
	if err := proto.Unmarshal(raw, &c); err != nil {
		return nil, nil, err
	}
	if err := proto.Unmarshal(c.GetBody(), &b); err != nil {
		return nil, nil, err
	}
	if b.GetPrincipal() == "" || len(b.GetPublicKey()) != ed25519.PublicKeySize || len(c.GetSignature()) != ed25519.SignatureSize {
		return nil, nil, errors.New("not a certificate")
	}
	return &c, &b, nil
}

func trustRegister(e *env, args []string) error {
	fs := flag.NewFlagSet("trust register", flag.ContinueOnError)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "FILE")
	if err != nil {
		return err
	}
	_, _, raw, err := readCertFile(pos[0])
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		info, err := c.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: raw})
		if err != nil {
			return err
		}
		v := certOf(info)
		if o == "json" {
			return writeJSON(e.stdout, v)
		}
		fmt.Fprintf(e.stdout, "certificate %s for %s (%s, %s) registered; valid until %s\n", v.Serial, v.Principal, v.Role, scopeLabel(v.Tenant),
			v.NotAfter.Format(time.RFC3339))
		return nil
	})
}

func trustCerts(e *env, args []string) error {
	fs := flag.NewFlagSet("trust certs", flag.ContinueOnError)
	principal := fs.String("principal", "", "only this principal's certificates")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		r, err := c.ListCertificates(ctx, &managev1.ListCertificatesRequest{Principal: *principal})
		if err != nil {
			return err
		}
		views := []certView{}
		for _, ci := range r.GetCertificates() {
			views = append(views, certOf(ci))
		}
		if o == "json" {
			return writeJSON(e.stdout, views)
		}
		var rows [][]string
		t := now()
		for _, v := range views {
			rows = append(rows, []string{v.Principal, v.Role, dash(v.Tenant), v.Serial, clip(v.PublicKeyFingerprint, 23),
				v.NotAfter.Format(time.RFC3339), v.validity(t)})
		}
		return table(e.stdout, []string{"PRINCIPAL", "ROLE", "TENANT", "SERIAL", "KEY", "NOT AFTER", "STATE"}, rows)
	})
}

// keysView is what `keys generate` and `keys show` print with -o json.
type keysView struct {
	Config               string    `json:"config"`
	KeyFile              string    `json:"key_file"`
	PublicKey            string    `json:"public_key"`
	PublicKeyFingerprint string    `json:"public_key_fingerprint"`
	Certificate          *certView `json:"certificate"`
	CertifyCommand       string    `json:"certify_command"`
}

// defaultKeyPath is <config dir>/<config name>.signing.key.
func defaultKeyPath(cfgPath string) string {
	base := strings.TrimSuffix(filepath.Base(cfgPath), filepath.Ext(cfgPath))
	return filepath.Join(filepath.Dir(cfgPath), base+".signing.key")
}

// certifyCommand is what an admin runs to certify pub for the principal.
func certifyCommand(p *managev1.Principal, pub ed25519.PublicKey) string {
	name, role := "NAME", "ROLE"
	if p.GetName() != "" {
		name = p.GetName()
	}
	if r := roleNames[p.GetRole()]; slices.Contains(signingRoles, r) {
		role = r
	}
	cmd := fmt.Sprintf("vigilctl trust certify --root ROOT.key --principal %s --role %s", name, role)
	if p.GetTenant() != "" {
		cmd += " --tenant " + p.GetTenant()
	}
	return cmd + fmt.Sprintf(" --public-key %s --register --out %s.cert", envelope.EncodePublicKey(pub), name)
}

// whoamiBrief asks the controller who the caller is, for advice only: a
// failure gives a principal named after the config, if it says.
func whoamiBrief(e *env) (*managev1.Principal, error) {
	var p *managev1.Principal
	err := call(e, func(ctx context.Context, c *client.Client) error {
		var err error
		p, err = c.WhoAmI(ctx, &managev1.WhoAmIRequest{})
		return err
	})
	if err != nil {
		return &managev1.Principal{Name: e.cfg.Principal}, err
	}
	return p, nil
}

func keysGenerate(e *env, args []string) error {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	keyFile := fs.String("key", "", "file to write the key to (default: next to the config file, <config name>.signing.key)")
	force := fs.Bool("force", false, "record the new key even though the config names another one (that key's certificate stops being used)")
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if cfg.SigningKey != "" && !*force {
		return fmt.Errorf("config %s already names signing key %s; add --force to replace it (the new key needs a new certificate)",
			e.cfgPath, cfg.SigningKeyPath(e.cfgPath))
	}
	path := *keyFile
	if path == "" {
		path = defaultKeyPath(e.cfgPath)
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	pub, key, err := envelope.GenerateKey()
	if err != nil {
		return err
	}
	if err := envelope.WritePrivateKey(path, key); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--key %s: file exists; keys generate never overwrites a key: choose another path with --key", path)
		}
		return fmt.Errorf("write signing key: %w", err)
	}
	cfg.SigningKey, cfg.SigningCertificate = path, ""
	if err := cfg.Save(e.cfgPath); err != nil {
		return fmt.Errorf("signing key written to %s, but recording it in %s failed: %w", path, e.cfgPath, err)
	}
	p, werr := whoamiBrief(e)
	v := keysView{Config: e.cfgPath, KeyFile: path, PublicKey: envelope.EncodePublicKey(pub), PublicKeyFingerprint: envelope.Fingerprint(pub),
		CertifyCommand: certifyCommand(p, pub)}
	if werr != nil {
		fmt.Fprintf(e.stderr, "vigilctl: could not ask the controller who you are (%s); fill in NAME and ROLE below\n", cliMessage(werr))
	}
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "signing key written to %s (mode 0600) and recorded in %s\npublic key:  %s\nfingerprint: %s\n\n"+
		"Next, an admin certifies it with the MSP root key:\n  %s\nand gives you the certificate file; then run:\n  vigilctl keys set-cert FILE\n",
		v.KeyFile, v.Config, v.PublicKey, v.PublicKeyFingerprint, v.CertifyCommand)
	return nil
}

// signer is the caller's signing key and certificate, from the config.
type signer struct {
	key     ed25519.PrivateKey
	keyPath string
	// cert is nil when the config records none; body is its unverified
	// decoding.
	cert *trustv1.Certificate
	body *trustv1.CertificateBody
}

func (s *signer) public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// loadSigner reads the signing key the config names and the certificate
// it records, checking that the certificate certifies that key.
func loadSigner(e *env) (*signer, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	if cfg.SigningKey == "" {
		return nil, fmt.Errorf("config %s names no signing key: run `vigilctl keys generate`, have an admin certify it, then run `vigilctl keys set-cert FILE`", e.cfgPath)
	}
	s := &signer{keyPath: cfg.SigningKeyPath(e.cfgPath)}
	if s.key, err = envelope.ReadPrivateKey(s.keyPath); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if cfg.SigningCertificate == "" {
		return s, nil
	}
	raw, err := base64.StdEncoding.DecodeString(cfg.SigningCertificate)
	if err == nil {
		s.cert, s.body, err = decodeCert(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: signing_certificate: not a base64 vigil certificate; run `vigilctl keys set-cert FILE` again", e.cfgPath)
	}
	if !bytes.Equal(s.body.GetPublicKey(), s.public()) {
		return nil, fmt.Errorf("config %s: signing_certificate %s certifies another key than %s; run `vigilctl keys set-cert FILE` with this key's certificate",
			e.cfgPath, s.body.GetSerial(), s.keyPath)
	}
	return s, nil
}

func keysSetCert(e *env, args []string) error {
	fs := flag.NewFlagSet("keys set-cert", flag.ContinueOnError)
	pos, o, err := parse(fs, args, []string{"table", "json"}, "FILE")
	if err != nil {
		return err
	}
	s, err := loadSigner(e)
	if err != nil {
		return err
	}
	_, body, raw, err := readCertFile(pos[0])
	if err != nil {
		return err
	}
	if !bytes.Equal(body.GetPublicKey(), s.public()) {
		return fmt.Errorf("%s certifies key %s, not your signing key %s (%s): ask for the certificate of %s",
			pos[0], envelope.Fingerprint(body.GetPublicKey()), envelope.Fingerprint(s.public()), s.keyPath, envelope.EncodePublicKey(s.public()))
	}
	v := certBodyView(body)
	if t := now(); v.validity(t) != "valid" {
		return fmt.Errorf("%s: certificate %s is %s (valid %s to %s)", pos[0], v.Serial, v.validity(t),
			v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339))
	}
	e.cfg.SigningCertificate = base64.StdEncoding.EncodeToString(raw)
	if err := e.cfg.Save(e.cfgPath); err != nil {
		return fmt.Errorf("record certificate: %w", err)
	}
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "certificate %s for %s (%s, %s, valid until %s) recorded in %s\n", v.Serial, v.Principal, v.Role,
		scopeLabel(v.Tenant), v.NotAfter.Format(time.RFC3339), e.cfgPath)
	return nil
}

func keysShow(e *env, args []string) error {
	fs := flag.NewFlagSet("keys show", flag.ContinueOnError)
	_, o, err := parse(fs, args, []string{"table", "json"})
	if err != nil {
		return err
	}
	s, err := loadSigner(e)
	if err != nil {
		return err
	}
	v := keysView{Config: e.cfgPath, KeyFile: s.keyPath, PublicKey: envelope.EncodePublicKey(s.public()),
		PublicKeyFingerprint: envelope.Fingerprint(s.public())}
	if s.body != nil {
		cv := certBodyView(s.body)
		v.Certificate = &cv
	} else {
		v.CertifyCommand = certifyCommand(&managev1.Principal{Name: e.cfg.Principal}, s.public())
	}
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	rows := [][]string{{"config", v.Config}, {"key file", v.KeyFile}, {"public key", v.PublicKey}, {"fingerprint", v.PublicKeyFingerprint}}
	if c := v.Certificate; c != nil {
		rows = append(rows, []string{"certificate", c.Serial}, []string{"principal", c.Principal},
			[]string{"role", c.Role + ", " + scopeLabel(c.Tenant)},
			[]string{"valid", c.NotBefore.Format(time.RFC3339) + " to " + c.NotAfter.Format(time.RFC3339) + " (" + c.validity(now()) + ")"})
	} else {
		rows = append(rows, []string{"certificate", "none: an admin runs " + v.CertifyCommand + ", then you run vigilctl keys set-cert FILE"})
	}
	return table(e.stdout, []string{"FIELD", "VALUE"}, rows)
}
