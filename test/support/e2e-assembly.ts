/**
 * One synthesized cloud assembly for every end-to-end suite of a jest run: synthesis (bundling seven functions,
 * cdk-nag) is the most expensive step of starting the runtime, and the suites run the same app. The first suite to
 * ask synthesizes into the run's directory (E2E_ASSEMBLY_DIR, made by the global setup) while the others wait for
 * it; a suite run alone synthesizes into its own.
 *
 * The JWT variant (`e2eAssembly('localJwt')`: the stack `npm start -- --local-jwt` runs) differs only in the API's
 * authorization, not in any function's code: its template is synthesized with bundling skipped (cdk-nag still on) and
 * each function points at the bundle the shared assembly built for the same logical id. Measured on this 2-core
 * machine under load: a full synth 44 s, the template alone 9.5 s.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCloudAssembly } from '../../local/assembly/cloud-assembly';
import { CHAOS_CONTEXT } from '../../local/chaos/chaos';
import { synthesize } from '../../local/synth';
import { LOCAL_JWT_CONTEXT } from '../../local/issuer/local-issuer';

export const E2E_ASSEMBLY_VARIABLE = 'E2E_ASSEMBLY_DIR';

/** The context every end-to-end suite runs with: the chaos run's (see CHAOS_CONTEXT for why each value). */
export const E2E_CONTEXT = CHAOS_CONTEXT;

type Variant = 'iam' | 'localJwt';

export async function e2eAssembly(variant: Variant = 'iam'): Promise<string> {
  const root = process.env[E2E_ASSEMBLY_VARIABLE] ?? (process.env[E2E_ASSEMBLY_VARIABLE] = mkdtempSync(path.join(tmpdir(), 'order-pipeline-assembly-')));
  const suffix = variant === 'iam' ? '' : '-local-jwt';
  const assembly = path.join(root, `cdk.out${suffix}`);
  const done = path.join(root, `synthesized${suffix}`);
  try {
    mkdirSync(path.join(root, `synthesizing${suffix}`)); // atomic: exactly one suite gets it
  } catch {
    const deadline = Date.now() + 180_000;
    while (!existsSync(done)) {
      if (Date.now() > deadline) throw new Error(`the shared assembly ${assembly} was not synthesized within 180 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return assembly;
  }
  if (variant === 'iam') synthesize({ outdir: assembly, context: { ...E2E_CONTEXT } });
  else withBundlesOf(await e2eAssembly('iam'), synthesize({ outdir: assembly, context: { ...E2E_CONTEXT, ...LOCAL_JWT_CONTEXT, 'aws:cdk:bundling-stacks': [] } as never }));
  writeFileSync(done, new Date().toISOString());
  return assembly;
}

/** Points every function of `assembly` (synthesized without bundling) at the bundle `bundled` has for its logical id. */
function withBundlesOf(bundled: string, assembly: string): void {
  const [source] = readCloudAssembly(bundled);
  const manifest = JSON.parse(readFileSync(path.join(assembly, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: { templateFile?: string } }> };
  const templateFile = path.join(assembly, Object.values(manifest.artifacts).find((a) => a.type === 'aws:cloudformation:stack')!.properties!.templateFile!);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Metadata?: Record<string, unknown> }> };
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const bundle = source.assetDirectory(id);
    if (!bundle) throw new Error(`function ${id} of the JWT assembly has no bundle of the same logical id in ${bundled}`);
    resource.Metadata = { ...resource.Metadata, 'aws:asset:path': bundle };
  }
  writeFileSync(templateFile, JSON.stringify(template));
}
