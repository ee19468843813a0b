package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vigil-rmm/vigil/console/client"
	"github.com/vigil-rmm/vigil/internal/clientconfig"
	"github.com/vigil-rmm/vigil/internal/envelope"
	managev1 "github.com/vigil-rmm/vigil/proto/vigil/manage/v1"
	trustv1 "github.com/vigil-rmm/vigil/proto/vigil/trust/v1"
)

// createdParam is the parameter that carries a task's creation time to the
// simulator (vigil-agentsim's CreatedParam).
const createdParam = "created_unix_ms"

// Fanout is the task fan-out measurement: one signed task per agent,
// created together, the way a technician starts a fleet-wide action.
type Fanout struct {
	// StartedS is when the fan-out started, on the run's clock.
	StartedS    float64 `json:"started_s"`
	SetupMS     float64 `json:"setup_ms"` // SetTrustRoot, certificate, RegisterCertificate, ListAgents
	Tasks       int     `json:"tasks"`
	Concurrency int     `json:"concurrency"`
	CreateErrs  int     `json:"create_errors"`
	FirstErr    string  `json:"first_error,omitempty"`
	// CreateSeconds is from the first CreateTask call to the last answer.
	CreateSeconds     float64 `json:"create_s"`
	CreatedPerSecond  float64 `json:"created_per_s"`
	CreateRPCMS       Q       `json:"create_rpc_ms"`
	FirstCreateUnixMs int64   `json:"first_create_unix_ms"`
	// AllFinalS is when polling first saw no task left in a non-final
	// state, from the first create (-1: not within the timeout). Polling
	// is once a second, so it is up to a second late.
	AllFinalS float64 `json:"all_final_s"`
	// Final counts tasks per final state once all were final (SUCCEEDED
	// is the rest of Tasks).
	Final map[string]int `json:"final,omitempty"`
	// ControllerCPUCores is the controller's CPU over the fan-out (first
	// create to all final, in 2 s samples).
	ControllerCPUCores float64 `json:"controller_cpu_cores"`
	// Breakdown is from the stored transitions of up to breakdownSample
	// tasks (controller clock for SCHEDULED and DISPATCHED: the commit of
	// CreateTask and the start of the engine pass that offered the task).
	Breakdown *Breakdown `json:"breakdown,omitempty"`
	Profile   string     `json:"cpu_profile,omitempty"`
}

// Breakdown splits the fan-out latency of a sample of tasks, ms.
type Breakdown struct {
	Sample int `json:"sample"`
	// CreateToScheduled: created_unix_ms to the SCHEDULED transition
	// (the CreateTask transaction).
	CreateToScheduled Q `json:"create_to_scheduled_ms"`
	// ScheduledToDispatched: to the start of the engine pass that
	// offered it (the engine passes once a second).
	ScheduledToDispatched Q `json:"scheduled_to_dispatched_ms"`
	// CreateToDispatched is the sum of the two.
	CreateToDispatched Q `json:"create_to_dispatched_ms"`
}

// Q is p50, p95 and max.
type Q struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

func qOf(ms []float64) Q {
	if len(ms) == 0 {
		return Q{}
	}
	sort.Float64s(ms)
	return Q{P50: ms[len(ms)/2], P95: ms[min(len(ms)-1, len(ms)*95/100)], Max: ms[len(ms)-1]}
}

const breakdownSample = 500

// breakdown reads the transitions of up to breakdownSample tasks, spread
// over the creation order.
func breakdown(ctx context.Context, c *client.Client, ids []string, created map[string]int64) *Breakdown {
	step := max(1, len(ids)/breakdownSample)
	var a, b, ab []float64
	for i := 0; i < len(ids); i += step {
		d, err := c.GetTask(ctx, &managev1.GetTaskRequest{TaskId: ids[i]})
		if err != nil {
			continue
		}
		var sched, disp int64
		for _, t := range d.GetTransitions() {
			switch t.GetState() {
			case managev1.TaskState_TASK_STATE_SCHEDULED:
				sched = t.GetTimeUnixMs()
			case managev1.TaskState_TASK_STATE_DISPATCHED:
				if disp == 0 {
					disp = t.GetTimeUnixMs()
				}
			}
		}
		if sched == 0 || disp == 0 {
			continue
		}
		c0 := created[ids[i]]
		a, b, ab = append(a, float64(sched-c0)), append(b, float64(disp-sched)), append(ab, float64(disp-c0))
	}
	return &Breakdown{Sample: len(a), CreateToScheduled: qOf(a), ScheduledToDispatched: qOf(b), CreateToDispatched: qOf(ab)}
}

// newRoot makes the MSP root key the run pins on the simulated agents.
func newRoot() (ed25519.PrivateKey, string, error) {
	pub, key, err := envelope.GenerateKey()
	if err != nil {
		return nil, "", err
	}
	return key, envelope.Fingerprint(pub), nil
}

type fanoutOpts struct {
	adminConfig, tenant string
	root                ed25519.PrivateKey
	fingerprint         string
	concurrency         int
	timeout             time.Duration
	debugAddr           string
	profile             time.Duration
	profilePath         string
}

// runFanout sets up trust as an MSP would (root recorded on the
// controller, the admin's signing key certified and registered), creates
// one task per agent with fo.concurrency calls in flight, and waits until
// every task is final.
func runFanout(ctx context.Context, fo fanoutOpts, runStart time.Time) (*Fanout, error) {
	res := &Fanout{StartedS: time.Since(runStart).Seconds(), Concurrency: fo.concurrency, AllFinalS: -1}
	cfg, err := clientconfig.Load(fo.adminConfig)
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, client.Options{Address: cfg.Controller, CAPEM: []byte(cfg.CAPEM), Token: cfg.Token})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	t0 := time.Now()
	if _, err := c.SetTrustRoot(ctx, &managev1.SetTrustRootRequest{Fingerprint: fo.fingerprint}); err != nil {
		return nil, fmt.Errorf("set trust root: %w", err)
	}
	who, err := c.WhoAmI(ctx, &managev1.WhoAmIRequest{})
	if err != nil {
		return nil, fmt.Errorf("whoami: %w", err)
	}
	pub, key, err := envelope.GenerateKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	cert, err := envelope.Issue(fo.root, &trustv1.CertificateBody{Principal: who.GetName(), Role: envelope.RoleAdmin, PublicKey: pub,
		NotBeforeUnix: now.Add(-time.Hour).Unix(), NotAfterUnix: now.Add(24 * time.Hour).Unix()})
	if err != nil {
		return nil, err
	}
	raw, err := proto.Marshal(cert)
	if err != nil {
		return nil, err
	}
	if _, err := c.RegisterCertificate(ctx, &managev1.RegisterCertificateRequest{Certificate: raw}); err != nil {
		return nil, fmt.Errorf("register certificate: %w", err)
	}
	agents, err := c.ListAgents(ctx, &managev1.ListAgentsRequest{Tenant: fo.tenant})
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	res.SetupMS = float64(time.Since(t0).Microseconds()) / 1000
	res.Tasks = len(agents.GetAgents())

	var profDone chan struct{}
	if fo.profile > 0 {
		profDone = make(chan struct{})
		res.Profile = fo.profilePath
		go func() {
			defer close(profDone)
			saveProfile(fo.debugAddr, fo.profile, fo.profilePath)
		}()
	}

	// Create one task per agent, fo.concurrency at a time.
	jobs := make(chan *managev1.Agent)
	var (
		mu    sync.Mutex
		rpcs  []float64 // CreateTask round trips, ms
		wg    sync.WaitGroup
		first int64
		ids   []string
		cre   = map[string]int64{}
	)
	start := time.Now()
	for range fo.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				nb := time.Now()
				t := &trustv1.Task{TaskId: envelope.NewTaskID(), Tenant: a.GetTenant(), AgentId: a.GetId(), Plugin: "script",
					Parameters:    map[string]string{"script": "true", createdParam: strconv.FormatInt(nb.UnixMilli(), 10)},
					NotBeforeUnix: nb.Unix(), NotAfterUnix: nb.Add(10 * time.Minute).Unix(), Nonce: envelope.NewNonce(),
					CreatedUnix: nb.Unix(), CreatedBy: who.GetName()}
				st, err := envelope.SignTask(t, cert, key)
				var b []byte
				if err == nil {
					b, err = proto.Marshal(st)
				}
				if err == nil {
					_, err = c.CreateTask(ctx, &managev1.CreateTaskRequest{SignedTask: b})
				}
				d := time.Since(nb)
				mu.Lock()
				if first == 0 || nb.UnixMilli() < first {
					first = nb.UnixMilli()
				}
				if err != nil {
					res.CreateErrs++
					if res.FirstErr == "" {
						res.FirstErr = err.Error()
					}
				} else {
					rpcs = append(rpcs, float64(d.Microseconds())/1000)
					ids = append(ids, t.GetTaskId())
					cre[t.GetTaskId()] = nb.UnixMilli()
				}
				mu.Unlock()
			}
		}()
	}
	for _, a := range agents.GetAgents() {
		jobs <- a
	}
	close(jobs)
	wg.Wait()
	res.CreateSeconds = time.Since(start).Seconds()
	res.FirstCreateUnixMs = first
	if res.CreateSeconds > 0 {
		res.CreatedPerSecond = float64(len(rpcs)) / res.CreateSeconds
	}
	res.CreateRPCMS = qOf(rpcs)

	// Wait until no task is left in a non-final state. Each ListTasks
	// scans every task record on the controller, so this polls once a
	// second and stops at the first state that still has a task.
	pending := []managev1.TaskState{managev1.TaskState_TASK_STATE_SCHEDULED, managev1.TaskState_TASK_STATE_DISPATCHED,
		managev1.TaskState_TASK_STATE_ACCEPTED, managev1.TaskState_TASK_STATE_RUNNING, managev1.TaskState_TASK_STATE_PROPOSED}
	deadline := start.Add(fo.timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		left := false
		for _, s := range pending {
			r, err := c.ListTasks(ctx, &managev1.ListTasksRequest{Tenant: fo.tenant, State: s, Limit: 1})
			if err != nil || len(r.GetTasks()) > 0 {
				left = true
				break
			}
		}
		if !left {
			res.AllFinalS = float64(time.Now().UnixMilli()-first) / 1000
			break
		}
		time.Sleep(time.Second)
	}
	if res.AllFinalS >= 0 {
		res.Final = map[string]int{}
		for _, s := range []managev1.TaskState{managev1.TaskState_TASK_STATE_FAILED, managev1.TaskState_TASK_STATE_CANCELLED,
			managev1.TaskState_TASK_STATE_EXPIRED, managev1.TaskState_TASK_STATE_REFUSED, managev1.TaskState_TASK_STATE_INTERRUPTED} {
			r, err := c.ListTasks(ctx, &managev1.ListTasksRequest{Tenant: fo.tenant, State: s})
			if err == nil && len(r.GetTasks()) > 0 {
				res.Final[s.String()] = len(r.GetTasks())
			}
		}
		other := 0
		for _, n := range res.Final {
			other += n
		}
		res.Final[managev1.TaskState_TASK_STATE_SUCCEEDED.String()] = res.Tasks - res.CreateErrs - other
		res.Breakdown = breakdown(ctx, c, ids, cre)
	}
	if profDone != nil {
		<-profDone
	}
	return res, nil
}

// saveProfile writes a CPU profile of the controller taken over d.
func saveProfile(debugAddr string, d time.Duration, path string) {
	saveURL(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, int(d.Seconds())), path, d+10*time.Second)
}

// fanoutCPU sets the controller's CPU over the fan-out from the 2 s
// samples around it: the last sample before the first create to the first
// sample after all tasks were final (or the end of the run).
func fanoutCPU(res *Result, start time.Time) {
	f := res.Fanout
	if f.FirstCreateUnixMs == 0 || len(res.Samples) < 2 {
		return
	}
	from := float64(f.FirstCreateUnixMs-start.UnixMilli()) / 1000
	to := res.Samples[len(res.Samples)-1].T
	if f.AllFinalS >= 0 {
		to = from + f.AllFinalS
	}
	var a, b *Sample
	for i := range res.Samples {
		s := &res.Samples[i]
		if s.T <= from {
			a = s
		}
		if s.T >= to && b == nil {
			b = s
		}
	}
	if b == nil {
		b = &res.Samples[len(res.Samples)-1]
	}
	if a != nil && b.T > a.T && b.CPUSeconds >= a.CPUSeconds {
		f.ControllerCPUCores = (b.CPUSeconds - a.CPUSeconds) / (b.T - a.T)
	}
}

// simTasks is the simulator's "tasks" section, as far as the summary
// needs it.
type simTasks struct {
	Count      int     `json:"count"`
	Refused    int64   `json:"refused"`
	Duplicates int64   `json:"duplicate_offers"`
	VerifyUS   float64 `json:"verify_mean_us"`
	Offer      simQ    `json:"offer_latency_ms"`
	Done       simQ    `json:"done_latency_ms"`
	Stored     simQ    `json:"stored_latency_ms"`
	FirstMs    int64   `json:"first_created_unix_ms"`
	LastStored int64   `json:"last_stored_unix_ms"`
	NotStored  int     `json:"not_stored_by_end"`
}

type simQ struct {
	Count         int
	P50, P95, Max float64
}

func printFanout(w io.Writer, f *Fanout, t *simTasks) {
	fmt.Fprintf(w, "  task fan-out           %d tasks (one per agent) at %.0f s, %d CreateTask calls in flight, setup %.0f ms\n",
		f.Tasks, f.StartedS, f.Concurrency, f.SetupMS)
	fmt.Fprintf(w, "    create               %.1f s, %.0f tasks/s, CreateTask p50 %.1f ms, p95 %.1f ms, max %.1f ms; %d errors %s\n",
		f.CreateSeconds, f.CreatedPerSecond, f.CreateRPCMS.P50, f.CreateRPCMS.P95, f.CreateRPCMS.Max, f.CreateErrs, f.FirstErr)
	if t != nil {
		fmt.Fprintf(w, "    create -> offer      p50 %.0f ms, p95 %.0f ms, max %.0f ms (%d offers on agents; %d refused, %d re-offers; verify %.0f µs)\n",
			t.Offer.P50, t.Offer.P95, t.Offer.Max, t.Count, t.Refused, t.Duplicates, t.VerifyUS)
		fmt.Fprintf(w, "    create -> SUCCEEDED  appended on agent p50 %.0f ms, p95 %.0f ms, max %.0f ms; stored on controller (acked) p50 %.0f ms, p95 %.0f ms, max %.0f ms (%d)\n",
			t.Done.P50, t.Done.P95, t.Done.Max, t.Stored.P50, t.Stored.P95, t.Stored.Max, t.Stored.Count)
		if t.LastStored > 0 && f.FirstCreateUnixMs > 0 {
			fmt.Fprintf(w, "    first create -> last SUCCEEDED stored  %.2f s\n", float64(t.LastStored-f.FirstCreateUnixMs)/1000)
		}
	}
	if f.AllFinalS >= 0 {
		fmt.Fprintf(w, "    all final            %.1f s after the first create (polled each second); %v\n", f.AllFinalS, f.Final)
	} else {
		fmt.Fprintf(w, "    all final            not within the timeout\n")
	}
	if b := f.Breakdown; b != nil {
		fmt.Fprintf(w, "    breakdown (%d tasks) create -> SCHEDULED stored p50 %.0f / p95 %.0f / max %.0f ms; SCHEDULED -> DISPATCHED p50 %.0f / p95 %.0f / max %.0f ms\n",
			b.Sample, b.CreateToScheduled.P50, b.CreateToScheduled.P95, b.CreateToScheduled.Max,
			b.ScheduledToDispatched.P50, b.ScheduledToDispatched.P95, b.ScheduledToDispatched.Max)
	}
	fmt.Fprintf(w, "    controller CPU       %.2f cores during the fan-out\n", f.ControllerCPUCores)
	if f.Profile != "" {
		fmt.Fprintf(w, "    CPU profile          %s\n", f.Profile)
	}
}
