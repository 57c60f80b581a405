// Package cluster holds the scale-out proof: a test that runs three
// instances of one Trellis app as separate processes sharing PostgreSQL
// and Redis, behind a small health-checking load balancer, and checks
// that sessions, rate limits, jobs and schedules behave as one app —
// through a rolling restart under load.
package cluster
