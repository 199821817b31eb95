module github.com/scheduler-dev/scheduler/bench

go 1.26.8

require (
	github.com/go-co-op/gocron/v2 v2.21.2
	github.com/google/uuid v1.6.0
	github.com/robfig/cron/v3 v3.0.1
	github.com/scheduler-dev/scheduler v0.0.0
)

require (
	github.com/jonboulle/clockwork v0.5.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/scheduler-dev/scheduler => ../
