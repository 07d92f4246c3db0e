/**
 * Reads a synthesized cloud assembly (cdk.out): the stack templates and the directories of their assets.
 * Everything the local runtime runs comes from here, so a rule or queue added in lib/ runs locally unchanged.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export interface StackArtifact {
  stackName: string;
  template: CfnTemplate;
  /** Absolute directory of an asset, from a resource's `aws:asset:path` metadata. */
  assetDirectory(logicalId: string): string | undefined;
}

interface Manifest {
  artifacts?: Record<string, { type: string; properties?: { templateFile?: string; stackName?: string }; displayName?: string }>;
}

export function readCloudAssembly(directory: string): StackArtifact[] {
  const manifest = JSON.parse(readFileSync(path.join(directory, 'manifest.json'), 'utf8')) as Manifest;
  return Object.entries(manifest.artifacts ?? {})
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id, artifact]) => {
      const template = JSON.parse(readFileSync(path.join(directory, artifact.properties!.templateFile!), 'utf8')) as CfnTemplate;
      return {
        stackName: artifact.properties?.stackName ?? id,
        template,
        assetDirectory(logicalId: string) {
          const assetPath = template.Resources[logicalId]?.Metadata?.['aws:asset:path'];
          return typeof assetPath === 'string' ? path.resolve(directory, assetPath) : undefined;
        },
      };
    });
}
