package main

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"
)

func (c *cli) versionCommand(args []string) int {
	f := c.newFlags("version", "version",
		`Print the scheduler's module version (and VCS revision when the binary
was built from a checkout with VCS stamping), the Go version that built it
and the platform, on one line:
  scheduler v1.2.0 go1.26.8 linux/amd64
`)
	if code, ok := f.parse(args); !ok {
		return code
	}
	fmt.Fprintf(c.stdout, "scheduler %s %s %s/%s\n", buildVersion(), goVersion(), goruntime.GOOS, goruntime.GOARCH)
	return exitOK
}

// buildVersion is the main module's version as the Go toolchain stamped it:
// a tag such as v1.2.0 for `go install ...@v1.2.0`, "(devel)" for a build
// from a checkout, followed by the VCS revision when one was recorded.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " (" + rev[:min(12, len(rev))] + modified + ")"
	}
	return v
}

// goVersion is the version of Go the binary was built with.
func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.GoVersion != "" {
		return bi.GoVersion
	}
	return goruntime.Version()
}
