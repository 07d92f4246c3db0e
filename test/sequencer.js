/**
 * The end-to-end suites (each starts the whole local runtime) first, one per worker, so that they do not land on the
 * same worker on a fresh clone (no timings yet) and run one after the other; but the second worker starts with the
 * slowest other suite: the first end-to-end suite synthesizes the shared assembly (test/support/e2e-assembly.ts), and
 * a second one started beside it would only wait for it.
 */
const Sequencer = require('@jest/test-sequencer').default;

const isE2e = (t) => /\.e2e\.test\.ts$/.test(t.path);

class EndToEndFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests); // failed first, then slowest first (file size on a fresh clone)
    const e2e = sorted.filter(isE2e);
    const others = sorted.filter((t) => !isE2e(t));
    return [...e2e.slice(0, 1), ...others.slice(0, 1), ...e2e.slice(1), ...others.slice(1)];
  }
}

module.exports = EndToEndFirst;
