package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scheduler-dev/scheduler/runtime"
	"github.com/scheduler-dev/scheduler/runtime/runtimetest"
)

// received is what a test server saw of one request.
type received struct {
	method, path, query, auth, host, contentType, body string
}

func recordingServer(t *testing.T, status int) (*httptest.Server, <-chan received) {
	t.Helper()
	ch := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Host, r.Header.Get("Content-Type"), string(body)}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func runHTTP(t *testing.T, ctx context.Context, yamlText string, env map[string]string, files map[string]string, d Deps) error {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	cfg, err := Load(writeFile(t, dir, "scheduler.yaml", yamlText), envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Jobs[0].Func(d)(ctx, runtime.Run{Job: cfg.Jobs[0].Name, Attempt: 1})
}

func TestHTTPSendsRequest(t *testing.T) {
	srv, got := recordingServer(t, http.StatusNoContent)
	err := runHTTP(t, t.Context(), `jobs:
  - name: hook
    schedule: "*/5 * * * *"
    http:
      url: "${BASE}/hook?token=${TOKEN}"
      method: POST
      headers:
        Authorization: "Bearer ${TOKEN}"
        Content-Type: application/json
        Host: hooks.example
      body_file: secrets/body.json
      expect_status: [200, 204]
`, map[string]string{"BASE": srv.URL, "TOKEN": "t0ken"}, map[string]string{"secrets/body.json": "{\"a\": 1}\n"}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	want := received{"POST", "/hook", "token=t0ken", "Bearer t0ken", "hooks.example", "application/json", `{"a": 1}`}
	if r := <-got; r != want {
		t.Errorf("server got %+v, want %+v", r, want)
	}
}

func TestHTTPStatusChecks(t *testing.T) {
	for _, tt := range []struct {
		status int
		expect string
		want   string // the error after "job j: http GET http://HOST/path: ", or "" for success
	}{
		{200, "", ""},
		{299, "", ""},
		{500, "", "status 500 Internal Server Error, expected 2xx"},
		{302, "", "status 302 Found, expected 2xx"},
		{404, "expect_status: 404", ""},
		{200, "expect_status: 201", "status 200 OK, expected 201"},
		{503, "expect_status: [200, 204, 301]", "status 503 Service Unavailable, expected 200, 204 or 301"},
	} {
		t.Run(fmt.Sprint(tt.status, tt.expect), func(t *testing.T) {
			srv, _ := recordingServer(t, tt.status)
			err := runHTTP(t, t.Context(), fmt.Sprintf(`jobs:
  - name: j
    schedule: "@hourly"
    http: {url: "%s/path?secret=s3cr3t#frag", %s}
`, srv.URL, tt.expect), nil, nil, Deps{})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.want != "" && (err == nil || err.Error() != "job j: http GET "+srv.URL+"/path: "+tt.want):
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestHTTPErrorsHideSecrets(t *testing.T) {
	// A closed server: the transport error must not repeat the URL's
	// userinfo, query or a token in its path.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := runHTTP(t, t.Context(), `jobs:
  - name: j
    schedule: "@hourly"
    http: {url: "http://user:pa55@${HOSTPORT}/bot${TOKEN}/send?key=${TOKEN}"}
`, map[string]string{"HOSTPORT": strings.TrimPrefix(url, "http://"), "TOKEN": "s3cr3t"}, nil, Deps{})
	if err == nil || !strings.HasPrefix(err.Error(), "job j: http GET http://${HOSTPORT}/bot${TOKEN}/send: ") {
		t.Fatalf("err = %v", err)
	}
	for _, secret := range []string{"s3cr3t", "pa55", "user", "key="} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %v", secret, err)
		}
	}
}

func TestHTTPCancellation(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- runHTTP(t, ctx, fmt.Sprintf("jobs:\n  - {name: j, schedule: \"@hourly\", http: {url: %q}}\n", srv.URL), nil, nil, Deps{})
	}()
	<-arrived
	cause := errors.New("shutting down")
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) {
		t.Errorf("err = %v, want the cancellation cause", err)
	}
}

func TestHTTPTimeoutUsesClock(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer srv.Close()
	clk := runtimetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan error, 1)
	go func() {
		done <- runHTTP(t, t.Context(), fmt.Sprintf("jobs:\n  - {name: j, schedule: \"@hourly\", http: {url: %q, timeout: 30s}}\n", srv.URL),
			nil, nil, Deps{Clock: clk, HTTPClient: srv.Client()})
	}()
	<-arrived
	clk.Advance(30 * time.Second)
	err := <-done
	var te *runtime.TimeoutError
	if !errors.As(err, &te) || te.Timeout != 30*time.Second || err.Error() != "job j: http GET "+srv.URL+": timed out after 30s" {
		t.Errorf("err = %v", err)
	}
}

func TestHTTPBodyIsATemplate(t *testing.T) {
	srv, got := recordingServer(t, http.StatusOK)
	clk := runtimetest.NewClock(time.Date(2026, 3, 2, 9, 0, 5, 0, time.UTC))
	cfg := mustParse(t, fmt.Sprintf(`jobs:
  - name: report
    schedule: "0 9 * * *"
    timezone: UTC
    http:
      url: %s/report
      method: POST
      body: '{"job": {{ .Job | json }}, "due": {{ .Scheduled | json }}, "note": {{ "say \"hi\"\n" | json }}}'
`, srv.URL), nil)
	run := runtime.Run{Job: "report", Scheduled: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Attempt: 1}
	if err := cfg.Jobs[0].Func(Deps{Clock: clk})(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.body != `{"job": "report", "due": "2026-03-02T09:00:00Z", "note": "say \"hi\"\n"}` {
		t.Errorf("body %s", r.body)
	}
}
