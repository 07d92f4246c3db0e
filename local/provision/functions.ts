/**
 * AWS::Lambda::Function -> local functions (worker-thread execution environments) on their bundled assets, with the
 * template's environment resolved to local names plus the local endpoints and credentials.
 */
import { LocalFunction } from '../engines/function-runner';
import { Invoker } from '../engines/invoker';
import { Provisioning } from './context';

export interface FunctionSettings {
  /** Added to every function's environment: endpoints and credentials of the local runtime. */
  environment: Record<string, string>;
  functionLog?: (functionName: string, line: string) => void;
  wrapInvoker?: (invoker: Invoker) => Invoker;
}

export function provisionFunctions(p: Provisioning, settings: FunctionSettings): void {
  const { functions, invokers } = p.engines;
  // An event source's maximum concurrency bounds the function's environments, as it bounds Lambda's.
  const esmConcurrency = new Map<string, number>();
  for (const [, r] of p.resources('AWS::Lambda::EventSourceMapping')) {
    const props = p.properties(r);
    const max = (props.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency;
    if (max) esmConcurrency.set(p.resolve<string>(props.FunctionName), max);
  }
  for (const [id, r] of p.resources('AWS::Lambda::Function')) {
    const props = p.properties(r);
    const codeDirectory = p.stack.assetDirectory(id);
    if (!codeDirectory) {
      p.warnings.push(`function ${id} has no local asset (inline code is not run)`);
      continue;
    }
    const name = p.name(id);
    const variables = p.resolve<Record<string, string>>((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
    const logging = props.LoggingConfig as { LogFormat?: 'Text' | 'JSON'; ApplicationLogLevel?: string } | undefined;
    const fn = new LocalFunction({
      name,
      codeDirectory,
      handler: String(props.Handler ?? 'index.handler'),
      environment: { ...variables, ...settings.environment },
      timeoutSeconds: Number(props.Timeout ?? 3),
      memorySize: Number(props.MemorySize ?? 128),
      maxConcurrency: Number(props.ReservedConcurrentExecutions ?? esmConcurrency.get(name) ?? 10),
      region: p.identity.region,
      runtime: typeof props.Runtime === 'string' ? props.Runtime : undefined,
      logFormat: logging?.LogFormat,
      applicationLogLevel: logging?.ApplicationLogLevel,
      clock: p.clock,
      faults: p.faults,
      onLog: settings.functionLog ? (line) => settings.functionLog!(name, line) : undefined,
    });
    functions.set(name, fn);
    invokers.set(name, settings.wrapInvoker ? settings.wrapInvoker(fn) : fn);
  }
  p.onStop(() => Promise.all([...functions.values()].map((f) => f.stop())).then(() => undefined));
}
