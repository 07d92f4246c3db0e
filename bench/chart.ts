/**
 * The bench's chart: for each client concurrency, the median time an order spends in each pipeline stage, as one
 * stacked horizontal bar (plain SVG, no library: a few rectangles and labels).
 */
import type { PipelineFigures } from './pipeline';

const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2'];
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function latencyChart(runs: readonly PipelineFigures[], title: string): string {
  const stages = runs[0]?.stages.map((s) => s.stage) ?? [];
  const width = 760;
  const left = 130;
  const barWidth = width - left - 90;
  const rowHeight = 34;
  const top = 40;
  const legendTop = top + runs.length * rowHeight + 20;
  const height = legendTop + stages.length * 20 + 10;
  const longest = Math.max(1, ...runs.map((r) => r.stages.reduce((sum, s) => sum + s.p50Ms, 0)));
  const scale = barWidth / longest;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  runs.forEach((run, row) => {
    const y = top + row * rowHeight;
    parts.push(`<text x="10" y="${y + 17}">concurrency ${run.concurrency}</text>`);
    let x = left;
    run.stages.forEach((stage, k) => {
      const w = stage.p50Ms * scale;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="24" fill="${COLOURS[k % COLOURS.length]}"><title>${escape(stage.stage)}: p50 ${stage.p50Ms.toFixed(0)} ms, p99 ${stage.p99Ms.toFixed(0)} ms</title></rect>`);
      x += w;
    });
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 17}">${run.stages.reduce((sum, s) => sum + s.p50Ms, 0).toFixed(0)} ms</text>`);
  });
  stages.forEach((stage, k) => {
    const y = legendTop + k * 20;
    parts.push(`<rect x="10" y="${y}" width="12" height="12" fill="${COLOURS[k % COLOURS.length]}"/><text x="28" y="${y + 11}">${escape(stage)} (p50)</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
