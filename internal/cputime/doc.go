// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU per operation next to wall-clock rates (steadier on a
// shared machine).
package cputime
