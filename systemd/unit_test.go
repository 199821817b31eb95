// Package systemd holds the unit file that runs scheduler as a service;
// its test checks the unit with systemd's own analyzer.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestUnit verifies the unit file and its security exposure with
// systemd-analyze, against a freshly built scheduler binary.
func TestUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (CI installs it from Debian's systemd package)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "scheduler")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/scheduler").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("scheduler.service")
	if err != nil {
		t.Fatal(err)
	}
	// Verify the unit as installed, but with the binary where this test
	// built it: verify checks that ExecStart is executable.
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/scheduler", bin)
	path := filepath.Join(dir, "scheduler.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	out, err := exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for scheduler.service: ([0-9.]+) (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	exposure, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	if exposure > 3.0 {
		t.Errorf("exposure %.1f %s, want 3.0 (OK) or better\n%s", exposure, m[2], out)
	}
	t.Logf("exposure %.1f %s", exposure, m[2])
}
