package main

// task approve: a client approver reads a proposed downtime task from its
// signed bytes, checks the technician's signature, and adds its own.

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/cli"
	"github.com/vigil-rmm/vigil/internal/envelope"
	"github.com/vigil-rmm/vigil/internal/pin"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// approveView is what `task approve -o json` prints.
type approveView struct {
	Approved bool        `json:"approved"`
	Signed   *signedView `json:"signed"`
	Task     taskView    `json:"task"`
}

func taskApprove(e *env, args []string) error {
	fs := flag.NewFlagSet("task approve", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "approve; without it the task is only shown")
	pos, o, err := parse(fs, args, []string{"table", "json"}, "ID")
	if err != nil {
		return err
	}
	id := pos[0]
	s, err := loadSigner(e)
	if err != nil {
		return err
	}
	return call(e, func(ctx context.Context, c *client.Client) error {
		me, err := c.WhoAmI(ctx, &managev1.WhoAmIRequest{})
		if err != nil {
			return err
		}
		// A proposed task has not run: it has no output to page through.
		d, err := c.GetTask(ctx, &managev1.GetTaskRequest{TaskId: id})
		if err != nil {
			return err
		}
		if by := d.GetTask().GetApprovedBy(); by != "" && by == me.GetName() {
			v := taskOf(d.GetTask())
			if o == "json" {
				return writeJSON(e.stdout, approveView{Approved: true, Signed: signedOf(d.GetSignedTask()), Task: v})
			}
			fmt.Fprintf(e.stdout, "task %s is already approved by you; it is %s\n", id, v.State)
			return nil
		}
		st, t, err := checkProposed(ctx, c, id, d, s)
		if err != nil {
			return err
		}
		err = checkCertificate(ctx, c, me, s, func(b *trustv1.CertificateBody) error {
			if b.GetRole() != envelope.RoleClientApprover || b.GetTenant() != t.GetTenant() {
				return fmt.Errorf("your certificate %s is for %s (%s); approving needs a client approver of tenant %s",
					b.GetSerial(), b.GetRole(), scopeLabel(b.GetTenant()), t.GetTenant())
			}
			return nil
		})
		if err != nil {
			return err
		}
		v := approveView{Signed: signedOf(d.GetSignedTask()), Task: taskOf(d.GetTask())}
		if !*yes {
			if err := printApproval(e, o, v, d.GetTask().GetHostname()); err != nil {
				return err
			}
			return cli.Usagef("task approve: not approved; re-run with --yes to approve task %s", id)
		}
		sig, err := proto.Marshal(envelope.Sign(st.GetTask(), s.cert, s.key))
		if err != nil {
			return err
		}
		r, err := c.ApproveTask(ctx, &managev1.ApproveTaskRequest{TaskId: id, Signature: sig})
		if err != nil {
			return err
		}
		v.Approved, v.Task = true, taskOf(r)
		if err := printApproval(e, o, v, d.GetTask().GetHostname()); err != nil || o == "json" {
			return err
		}
		fmt.Fprintf(e.stdout, "\napproved: task %s is %s\n", id, v.Task.State)
		return nil
	})
}

// checkProposed decodes the task's signed bytes and checks them: it is
// the task the controller lists, awaiting approval, and its technician's
// signature verifies against the trust root. What an approver is shown
// and signs comes from these bytes, never from the controller's fields.
func checkProposed(ctx context.Context, c *client.Client, id string, d *managev1.TaskDetail, s *signer) (*trustv1.SignedTask, *trustv1.Task, error) {
	var st trustv1.SignedTask
	var t trustv1.Task
	if len(d.GetSignedTask()) == 0 || proto.Unmarshal(d.GetSignedTask(), &st) != nil || proto.Unmarshal(st.GetTask(), &t) != nil {
		return nil, nil, fmt.Errorf("task %s: the controller sent no readable signed task; not approving", id)
	}
	if t.GetTaskId() != id {
		return nil, nil, fmt.Errorf("task %s: the signed task is %s; not approving", id, t.GetTaskId())
	}
	if s := d.GetTask().GetState(); s != managev1.TaskState_TASK_STATE_PROPOSED {
		return nil, nil, fmt.Errorf("task %s is %s, not awaiting approval", id, taskStateLabel(s))
	}
	if !time.Unix(t.GetNotAfterUnix(), 0).After(now()) {
		return nil, nil, fmt.Errorf("task %s: its start window ended %s; ask for a new task", id, unix(t.GetNotAfterUnix()).Format(time.RFC3339))
	}
	// The root is the one that certified the approver's own key (held in
	// the approver's config), not what the controller says it is.
	var rootPin []byte
	if rk := s.body.GetRootPublicKey(); len(rk) == ed25519.PublicKeySize {
		sum := sha256.Sum256(rk)
		rootPin = sum[:]
	} else {
		tr, err := c.GetTrustRoot(ctx, &managev1.GetTrustRootRequest{})
		if err != nil {
			return nil, nil, err
		}
		if rootPin, err = pin.Parse(tr.GetFingerprint()); err != nil {
			return nil, nil, errors.New("the controller has no trust root: an admin runs `vigilctl trust set-root FINGERPRINT`")
		}
	}
	v, err := envelope.Verify(&st, envelope.Policy{RootPin: rootPin, AgentID: d.GetTask().GetAgentId(), Tenant: d.GetTask().GetTenant(),
		AllowMissingApproval: true})
	if err != nil {
		return nil, nil, fmt.Errorf("task %s does not verify, not approving: %w", id, err)
	}
	if signer := v.Technician.GetPrincipal(); signer != t.GetCreatedBy() {
		return nil, nil, fmt.Errorf("task %s names %q as its technician but %q signed it; not approving", id, t.GetCreatedBy(), signer)
	}
	return &st, &t, nil
}

func printApproval(e *env, o string, v approveView, hostname string) error {
	if o == "json" {
		return writeJSON(e.stdout, v)
	}
	s := v.Signed
	timeout := "the agent's default"
	if s.TimeoutSeconds > 0 {
		timeout = (time.Duration(s.TimeoutSeconds) * time.Second).String()
	}
	downtime := "no"
	if s.Downtime {
		downtime = "yes: the server's service may be interrupted"
	}
	fmt.Fprintf(e.stdout, "Task %s asks to run on %s (agent %s, tenant %s):\n", s.TaskID, dash(hostname), s.AgentID, s.Tenant)
	rows := [][]string{{"plugin", s.Plugin}}
	rows = append(rows, paramRows(s.Parameters)...)
	rows = append(rows, []string{"start", "from " + s.NotBefore.Format(time.RFC3339) + " until " + s.NotAfter.Format(time.RFC3339)},
		[]string{"downtime", downtime}, []string{"timeout", timeout},
		[]string{"technician", s.CreatedBy + " (signed " + s.CreatedAt.Format(time.RFC3339) + "; signature verified against the trust root)"})
	if err := table(e.stdout, []string{"FIELD", "VALUE"}, rows); err != nil {
		return err
	}
	printLongParams(e, s.Parameters)
	return nil
}
