/**
 * One synthesized cloud assembly for every end-to-end suite of a jest run: synthesis (bundling seven functions,
 * cdk-nag) is the most expensive step of starting the runtime, and the suites run the same app. The first suite to
 * ask synthesizes into the run's directory (E2E_ASSEMBLY_DIR, made by the global setup) while the others wait for
 * it; a suite run alone synthesizes into its own. The JWT variant (`e2eAssembly('localJwt')`, the stack
 * `npm start -- --local-jwt` runs) is a second assembly beside it, synthesized the same way by the first suite asking.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { synthesize } from '../../local/synth';
import { LOCAL_JWT_CONTEXT } from '../../local/issuer/local-issuer';

export const E2E_ASSEMBLY_VARIABLE = 'E2E_ASSEMBLY_DIR';

/**
 * The context every end-to-end suite runs with. A 20 s payment window (real time: deadlines are written by the
 * functions) outlasts each scenario but expires within a suite; the sweep runs every 2 minutes, 4 s at time scale
 * 30 (each run is a state machine execution and three to four invocations: every 2 s was a tenth of a suite's CPU).
 */
export const E2E_CONTEXT = { paymentWindowSeconds: '20', sweepIntervalMinutes: '2' } as const;

/** The stacks end-to-end suites run: the default (IAM-authorized API) and the one trusting the local issuer. */
const VARIANTS = { iam: { suffix: '', context: {} }, localJwt: { suffix: '-local-jwt', context: LOCAL_JWT_CONTEXT } } as const;

export async function e2eAssembly(variant: keyof typeof VARIANTS = 'iam'): Promise<string> {
  const root = process.env[E2E_ASSEMBLY_VARIABLE] ?? mkdtempSync(path.join(tmpdir(), 'order-pipeline-assembly-'));
  const { suffix, context } = VARIANTS[variant];
  const assembly = path.join(root, `cdk.out${suffix}`);
  const done = path.join(root, `synthesized${suffix}`);
  const claim = path.join(root, `synthesizing${suffix}`);
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
  synthesize({ outdir: assembly, context: { ...E2E_CONTEXT, ...context } });
  writeFileSync(done, new Date().toISOString());
  return assembly;
}
