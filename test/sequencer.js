/**
 * The longest suites first, one per worker: the end-to-end suites (each starts the whole local runtime) would
 * otherwise land on the same worker on a fresh clone, where jest has no timings yet, and run one after the other.
 */
const Sequencer = require('@jest/test-sequencer').default;

class SlowFirst extends Sequencer {
  sort(tests) {
    const e2e = (t) => (/\.e2e\.test\.ts$/.test(t.path) ? 1 : 0);
    return super.sort(tests).sort((a, b) => e2e(b) - e2e(a));
  }
}

module.exports = SlowFirst;
