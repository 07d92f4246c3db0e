/** The latency chart draws each run's stages as consecutive bars whose widths follow their medians. */
import { latencyChart } from '../../bench/chart';

const run = (concurrency: number, stages: number[]) => ({
  concurrency,
  orders: 10,
  ordersPerSecond: 1,
  p50Ms: 0,
  p99Ms: 0,
  stages: stages.map((p50Ms, k) => ({ stage: `stage <${k}>`, p50Ms, p99Ms: p50Ms * 2 })),
});

test('one bar per stage and run, widths proportional to the p50s, the longest run filling the width; labels escaped', () => {
  const svg = latencyChart([run(1, [10, 30, 60]), run(64, [20, 60, 120])], 'POST /orders to settled');
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)" height="24"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), w: Number(m[3]) }));
  expect(rects).toHaveLength(6);
  const [a, b] = [rects.slice(0, 3), rects.slice(3)];
  expect(b.map((r) => r.w / b[0]!.w)).toEqual([1, 3, 6]);
  expect(b[1]!.x).toBeCloseTo(b[0]!.x + b[0]!.w, 1); // stacked: each stage starts where the last ended
  expect(a.reduce((s, r) => s + r.w, 0) * 2).toBeCloseTo(b.reduce((s, r) => s + r.w, 0), 1);
  expect(svg).toContain('stage &lt;0&gt; (p50)');
  expect(svg).toContain('200 ms');
  expect(b.reduce((s, r) => s + r.w, 0)).toBeCloseTo(760 - 130 - 90, 0); // the longest run spans the bar area
});
