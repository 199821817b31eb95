package jobs

import (
	"fmt"
	"strings"
)

// Error is one problem found in a configuration file.
type Error struct {
	// File is the configuration file's path as given to Load or Parse.
	File string
	// Line and Col locate the offending YAML node, from 1. Line is 0 when
	// the problem concerns the whole file (it could not be read). yaml.v3
	// reports no column for syntax errors; Col is then 1.
	Line, Col int
	// Job is the name of the job the problem is in; empty outside a job, or
	// when the job has no usable name (Field then starts with jobs[N]).
	Job string
	// Field is the dotted path of the offending field inside the job (or
	// from the top of the file outside a job), e.g. retry.backoff,
	// exec.command or parallel[1].http.url; empty for the job as a whole.
	Field string
	// Msg says what is wrong. It never contains a value that came from the
	// environment or from a file.
	Msg string
}

// Error formats the problem as FILE:LINE:COL: job "NAME": field: message,
// leaving out the parts that do not apply.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Job != "" {
		fmt.Fprintf(&b, "job %q: ", e.Job)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration file, in file order. Load
// and Parse return it (as their error) whenever the file is not usable.
type Errors []*Error

// Error returns one line per problem.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
