package fault

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/topology"
)

// dataTierEvery is how often a data-tier sampler asks the member services.
const dataTierEvery = time.Second

// dataTierSampler measures the load on a region's data tier where it is
// put: every Every it asks each member service of the region for its count
// of Cassandra queries (GET /admin/stats) and records their sum as a Note
// event history.EventDataTier. The Shedding checker takes the data tier's
// rate from these samples, not from what the clients saw complete. A tick
// in which a member service did not answer records nothing: a sum over
// some of them would look like a drop.
type dataTierSampler struct {
	cluster topology.Cluster
	region  string
	rec     *history.Recorder
	every   time.Duration
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// startDataTier starts sampling region into rec until stop; with no
// recorder it samples nothing.
func startDataTier(c topology.Cluster, region string, rec *history.Recorder, every time.Duration) *dataTierSampler {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dataTierSampler{cluster: c, region: region, rec: rec, every: every, stop: cancel, done: make(chan struct{})}
	if rec == nil {
		close(d.done)
		return d
	}
	go func() {
		defer close(d.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			d.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return d
}

// sample records one sum, when every member service of the region answered.
func (d *dataTierSampler) sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, d.every)
	defer cancel()
	all, err := worldComponents(ctx, d.cluster)
	if err != nil {
		return
	}
	var sum uint64
	n := 0
	for _, st := range all {
		if st.Kind != topology.KindMember || st.Region != d.region {
			continue
		}
		s, err := memberAdmin(d.cluster, st.Component).Stats(ctx)
		if err != nil {
			return
		}
		sum += s.CassandraOps
		n++
	}
	if n == 0 {
		return
	}
	d.rec.Event(history.Event{Kind: history.Note, Time: time.Now(), Name: history.EventDataTier, Target: d.region,
		Detail: map[string]string{"cassandra_ops": strconv.FormatUint(sum, 10), "members": strconv.Itoa(n)}})
}

// Stop takes a last sample and stops; it is safe to call more than once.
func (d *dataTierSampler) Stop() {
	d.once.Do(func() {
		d.stop()
		<-d.done
		if d.rec != nil {
			d.sample(context.Background())
		}
	})
}
