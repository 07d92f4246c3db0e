/** The stack's Outputs with local values, written like `cdk deploy --outputs-file` (the sign that the runtime is ready). */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { localizeUrl } from '../assembly/local-names';
import { Provisioning } from './context';

export function writeOutputs(p: Provisioning, outputsFile: string): Record<string, Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(p.template.Outputs ?? {})) {
    try {
      outputs[key] = localizeUrl(String(p.resolve(output.Value)), p.endpoints);
    } catch (error) {
      p.warnings.push(`output ${key}: ${(error as Error).message}`);
    }
  }
  const all = { [p.stack.stackName]: outputs };
  mkdirSync(path.dirname(outputsFile), { recursive: true });
  writeFileSync(outputsFile, `${JSON.stringify(all, null, 2)}\n`);
  return all;
}
