// Package replcheck is the replication check, Netflix's experiment: write N
// records in one region and read each one in another region ReadAfter
// (500 ms) after its write was acknowledged. It measures, for every record,
// whether it was visible at that read, and the distribution of replication
// lag.
//
// It runs pipelined with bounded concurrency: writers (Check.writer), a read
// scheduler and its readers (Check.schedule, Check.readPartition), a seeded
// sample polled from the acknowledgement (Check.sample), and the re-reads of
// the late records until the deadline (lateSet, Check.repoll); lagStats
// turns what they saw into the share visible at the read, the percentiles
// and the histogram (Check.Summary).
//
// Observer runs the check as the observe step of the one runner
// (run.Experiment): the records are written in observe, the late ones
// re-read in converge, and the summary is recorded in the history, where
// the checkers Complete and VisibleAtRead judge it, and in replication.json.
package replcheck
