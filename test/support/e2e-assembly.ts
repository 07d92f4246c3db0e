/**
 * One synthesized cloud assembly for every end-to-end suite of a jest run: synthesis (bundling seven functions,
 * cdk-nag) is the most expensive step of starting the runtime, and the suites run the same app. The first suite to
 * ask synthesizes into the run's directory (E2E_ASSEMBLY_DIR, made by the global setup) while the others wait for
 * it; a suite run alone synthesizes into its own.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CHAOS_CONTEXT } from '../../local/chaos/chaos';
import { synthesize } from '../../local/synth';

export const E2E_ASSEMBLY_VARIABLE = 'E2E_ASSEMBLY_DIR';

/** The context every end-to-end suite runs with: the chaos run's (see CHAOS_CONTEXT for why each value). */
export const E2E_CONTEXT = CHAOS_CONTEXT;

export async function e2eAssembly(): Promise<string> {
  const root = process.env[E2E_ASSEMBLY_VARIABLE] ?? mkdtempSync(path.join(tmpdir(), 'order-pipeline-assembly-'));
  const assembly = path.join(root, 'cdk.out');
  const done = path.join(root, 'synthesized');
  const claim = path.join(root, 'synthesizing');
  try {
    mkdirSync(claim); // atomic: exactly one suite gets it
  } catch {
    const deadline = Date.now() + 180_000;
    while (!existsSync(done)) {
      if (Date.now() > deadline) throw new Error(`the shared assembly in ${root} was not synthesized within 180 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return assembly;
  }
  synthesize({ outdir: assembly, context: { ...E2E_CONTEXT } });
  writeFileSync(done, new Date().toISOString());
  return assembly;
}
