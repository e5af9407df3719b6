// A forked process speaking the cluster protocol as a worker does (test/unit/cluster-protocol.test.ts).
// It answers `metrics.worker` with one fake metric, or never when IPC_WORKER_SILENT is set.
import { connectToPrimary } from '../../src/cluster/worker.js';

const peer = connectToPrimary({
  'metrics.worker': () =>
    process.env.IPC_WORKER_SILENT
      ? new Promise(() => {})
      : ([{ name: 'forked_total', help: 'h', type: 'counter', values: [{ value: 7, labels: {} }], aggregator: 'sum' }] as never),
});
// Echo each invalidation back as a counter.delete request, so the test sees that notices arrive.
peer.onNotice((notice) => void peer.request({ tag: 'counter.delete', keys: [JSON.stringify(notice.invalidation)] }).catch(() => {}));
process.send?.('ready');
