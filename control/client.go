package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ErrNotRunning is the error of a Client call when no scheduler listens on
// the socket.
var ErrNotRunning = errors.New("no scheduler is running")

// Client talks to a running scheduler over its control socket.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client of the scheduler whose control socket is at
// path. It connects at each call.
func NewClient(path string) *Client {
	dialer := &net.Dialer{}
	return &Client{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		},
	}}}
}

// Jobs returns the status of every job.
func (c *Client) Jobs(ctx context.Context) ([]JobStatus, error) {
	var out []JobStatus
	err := c.call(ctx, http.MethodGet, pathJobs, nil, &out)
	return out, err
}

// Trigger runs the job now; with wait, it returns once the run has ended,
// with its outcome.
func (c *Client) Trigger(ctx context.Context, job string, wait bool) (RunResult, error) {
	var out RunResult
	err := c.call(ctx, http.MethodPost, jobPath(job, "trigger"), url.Values{"wait": {strconv.FormatBool(wait)}}, &out)
	return out, err
}

// SetPaused pauses or resumes the job.
func (c *Client) SetPaused(ctx context.Context, job string, paused bool) error {
	action := "resume"
	if paused {
		action = "pause"
	}
	return c.call(ctx, http.MethodPost, jobPath(job, action), nil, nil)
}

// History returns up to limit of the job's recorded runs, newest first; 0
// means all that are kept.
func (c *Client) History(ctx context.Context, job string, limit int) ([]Run, error) {
	var out []Run
	err := c.call(ctx, http.MethodGet, jobPath(job, "history"), url.Values{"limit": {strconv.Itoa(limit)}}, &out)
	return out, err
}

// Reload makes the scheduler re-read its configuration. A rejected file
// returns a *RejectedError listing its problems.
func (c *Client) Reload(ctx context.Context) (Changes, error) {
	var out Changes
	err := c.call(ctx, http.MethodPost, pathReload, nil, &out)
	return out, err
}

// RejectedError is the error of a reload whose configuration was rejected;
// the scheduler goes on with the one it had.
type RejectedError struct {
	// Problems lists what is wrong, one FILE:LINE:COL line each.
	Problems []string
}

func (e *RejectedError) Error() string {
	return "the configuration was rejected; the running one stays:\n" + strings.Join(e.Problems, "\n")
}

// APIError is an error the scheduler answered with.
type APIError struct {
	Status  int // the HTTP status
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Is makes errors.Is match the sentinel errors behind the statuses.
func (e *APIError) Is(target error) bool {
	return e.Status == http.StatusNotFound && target == ErrUnknownJob
}

func jobPath(job, action string) string {
	return pathJobs + "/" + url.PathEscape(job) + "/" + action
}

// call sends a request and decodes the JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, out any) error {
	u := url.URL{Scheme: "http", Host: "scheduler", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if isNotRunning(err) {
			return fmt.Errorf("%w (no control socket at %s)", ErrNotRunning, c.path)
		}
		return fmt.Errorf("control socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("control socket %s: %w", c.path, err)
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			return &APIError{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: %s", method, path, resp.Status)}
		}
		if len(e.Problems) > 0 {
			return &RejectedError{Problems: e.Problems}
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("control socket %s: bad answer: %w", c.path, err)
	}
	return nil
}
