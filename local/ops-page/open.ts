/**
 * The ops page of a running runtime: its context (the stack's outputs, SDK clients of the runtime's own endpoint) and
 * its sampler. Loaded by the runtime on the first /_local/ops request, so that a start-up nobody watches does not load
 * the operator's CLI and its six SDK clients.
 */
import { createClients, destroyClients } from '../../ops/clients';
import type { OpsContext } from '../../ops/context';
import type { StackOutputs } from '../../ops/stack';
import { QueueDepthSampler } from './sampler';
import { OpsPage } from './server';

export interface OpenedOpsPage {
  page: OpsPage;
  close(): Promise<void>;
}

export function openOpsPage(stack: StackOutputs, endpoint: string, region: string): OpenedOpsPage {
  const clients = createClients({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const ctx: OpsContext = { stack, clients, where: endpoint, local: true, progress: () => undefined, pollIntervalMs: 250 };
  const page = new OpsPage(ctx, new QueueDepthSampler(ctx));
  return {
    page,
    close: async () => {
      await page.sampler.stop();
      destroyClients(clients);
    },
  };
}
