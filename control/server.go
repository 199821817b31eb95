package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
)

// API paths. The control API is versioned so that a newer scheduler
// command can tell an older daemon apart.
const (
	pathJobs    = "/v1/jobs"
	pathReload  = "/v1/reload"
	pathHealth  = "/healthz"
	pathMetrics = "/metrics"
)

// Handler returns the control API, for the Unix socket: reading and
// steering (trigger, pause, resume, reload). It has no authentication of
// its own; the socket's mode and the peer check of Listen are its guard.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathJobs, s.serveJobs)
	mux.HandleFunc("POST "+pathJobs+"/{name}/trigger", s.serveTrigger)
	mux.HandleFunc("POST "+pathJobs+"/{name}/pause", s.servePause(true))
	mux.HandleFunc("POST "+pathJobs+"/{name}/resume", s.servePause(false))
	mux.HandleFunc("GET "+pathJobs+"/{name}/history", s.serveHistory)
	mux.HandleFunc("POST "+pathReload, s.serveReload)
	s.readOnly(mux)
	return mux
}

// PublicHandler returns the read-only endpoints for http.listen:
// /metrics, /healthz and /jobs (the JSON of `scheduler jobs --json`).
// Nothing it serves changes the scheduler.
func (s *Service) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jobs", s.serveJobs)
	s.readOnly(mux)
	return mux
}

func (s *Service) readOnly(mux *http.ServeMux) {
	mux.HandleFunc("GET "+pathHealth, s.serveHealth)
	if s.opts.Metrics != nil {
		mux.Handle("GET "+pathMetrics, s.opts.Metrics.Handler())
	}
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
	// Problems lists a rejected configuration's problems, one
	// FILE:LINE:COL line each.
	Problems []string `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeError answers with err and the status its kind calls for.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownJob):
		status = http.StatusNotFound
	case errors.Is(err, runtime.ErrSkipped):
		status = http.StatusConflict
	case errors.Is(err, runtime.ErrClosed), errors.Is(err, runtime.ErrRemoved):
		status = http.StatusServiceUnavailable
	case errors.Is(err, ErrNoReload):
		status = http.StatusNotImplemented
	}
	if status == http.StatusInternalServerError {
		s.logger.Error("control API request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeJSON(w, status, apiError{Error: err.Error()})
}

func (s *Service) serveJobs(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.Jobs(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobs)
}

func (s *Service) serveTrigger(w http.ResponseWriter, r *http.Request) {
	wait, err := boolParam(r, "wait")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	res, err := s.Trigger(r.Context(), r.PathValue("name"), wait)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if !wait {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

func (s *Service) servePause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.SetPaused(r.Context(), r.PathValue("name"), paused); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) serveHistory(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("limit %q: want a count, 0 for all", v)})
			return
		}
		limit = n
	}
	runs, err := s.History(r.Context(), r.PathValue("name"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runs)
}

func (s *Service) serveReload(w http.ResponseWriter, r *http.Request) {
	ch, err := s.Reload(r.Context())
	switch {
	case errors.Is(err, ErrNoReload):
		s.writeError(w, r, err)
	case err != nil:
		writeJSON(w, http.StatusUnprocessableEntity, apiError{
			Error:    "the configuration was rejected; the running one stays",
			Problems: strings.Split(err.Error(), "\n"),
		})
	default:
		writeJSON(w, http.StatusOK, changes(ch))
	}
}

// Changes is what a reload did, by job name.
type Changes struct {
	Added       []string `json:"added"`
	Updated     []string `json:"updated"`
	Rescheduled []string `json:"rescheduled"`
	Removed     []string `json:"removed"`
}

func changes(ch runtime.Changes) Changes {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return Changes{nonNil(ch.Added), nonNil(ch.Updated), nonNil(ch.Rescheduled), nonNil(ch.Removed)}
}

// Health is the body of /healthz.
type Health struct {
	// Status is "ok" or "unhealthy".
	Status string `json:"status"`
	// Problems says, by component ("loop", "telegram"), what is wrong.
	Problems map[string]string `json:"problems,omitempty"`
}

func (s *Service) serveHealth(w http.ResponseWriter, r *http.Request) {
	problems := s.Health()
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "unhealthy", Problems: problems})
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s %q: want true or false", name, v)
	}
	return b, nil
}

// Serve serves h on l until ctx ends, then shuts the server down: requests
// going get shutdownTimeout to finish, then their connections are closed.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	<-served
	return nil
}

// shutdownTimeout is how long requests going (a trigger waiting for its
// run) may hold up the end of Serve.
const shutdownTimeout = 5 * time.Second
