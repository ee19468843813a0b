package server

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"
)

// debugHandler serves pprof and a JSON snapshot of the controller's vital
// signs on the optional debug listener. Bind it to loopback: it has no
// authentication.
func (s *Server) debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/vars", func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fds := -1
		if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
			fds = len(ents)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"time":          time.Now().UTC(),
			"goroutines":    runtime.NumGoroutine(),
			"open_files":    fds,
			"agents_online": s.fleet.Count(),
			"heap_alloc":    ms.HeapAlloc,
			"heap_inuse":    ms.HeapInuse,
			"sys":           ms.Sys,
			"stack_inuse":   ms.StackInuse,
			"heap_idle":     ms.HeapIdle,
			"heap_released": ms.HeapReleased,
			"num_gc":        ms.NumGC,
			"ingest":        s.ingest.Snapshot(),
			"streams_ended": s.agentAPI.Ends(),
		})
	})
	return mux
}

func (s *Server) startDebug() error {
	if s.cfg.DebugListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.DebugListen)
	if err != nil {
		return err
	}
	s.debugAddr = ln.Addr().String()
	s.debugSrv = &http.Server{Handler: s.debugHandler(), ReadHeaderTimeout: 5 * time.Second}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.debugSrv.Serve(ln); err != nil && err != http.ErrServerClosed {
			s.logger.Error("debug server", "err", err)
		}
	}()
	s.logger.Info("debug listener (pprof, /debug/vars)", "addr", ln.Addr().String())
	return nil
}

// DebugAddr is the debug listener's address, or "" when it is off.
func (s *Server) DebugAddr() string { return s.debugAddr }
