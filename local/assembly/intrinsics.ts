/**
 * Resolves CloudFormation intrinsic functions against local names: Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split, Fn::If (conditions are not evaluated: unsupported), and the pseudo parameters.
 * What a Ref or attribute means per resource type is given by the caller (the runtime knows the local names).
 */
export interface LocalIdentity {
  region: string;
  accountId: string;
  stackName: string;
}

/** Returns the value of Ref (attribute undefined) or Fn::GetAtt for a resource, or undefined if unknown. */
export type ReferenceResolver = (logicalId: string, attribute?: string) => string | undefined;

export class UnresolvableError extends Error {
  readonly name = 'UnresolvableError';
}

export function resolveIntrinsics(value: unknown, refs: ReferenceResolver, identity: LocalIdentity): unknown {
  const pseudo: Record<string, string> = {
    'AWS::Region': identity.region,
    'AWS::AccountId': identity.accountId,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': identity.stackName,
    'AWS::StackId': `arn:aws:cloudformation:${identity.region}:${identity.accountId}:stack/${identity.stackName}/local`,
    'AWS::NoValue': '',
  };
  const ref = (logicalId: string, attribute?: string): string => {
    if (attribute === undefined && logicalId in pseudo) return pseudo[logicalId];
    const resolved = refs(logicalId, attribute);
    if (resolved === undefined) throw new UnresolvableError(`cannot resolve ${attribute ? `Fn::GetAtt ${logicalId}.${attribute}` : `Ref ${logicalId}`} locally`);
    return resolved;
  };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (!v || typeof v !== 'object') return v;
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      switch (fn) {
        case 'Ref':
          return ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
          return ref(String(id), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (resolve(parts) as unknown[]).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (resolve(list) as unknown[])[Number(resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(resolve(source)).split(separator);
        }
        case 'Fn::Sub': {
          const [template, variables] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
          const locals = resolve(variables ?? {}) as Record<string, unknown>;
          return template.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
            if (name in locals) return String(locals[name]);
            const [id, attribute] = name.split(/\.(.+)/);
            return ref(id, attribute);
          });
        }
        case 'Fn::If':
        case 'Fn::Equals':
        case 'Fn::And':
        case 'Fn::Or':
        case 'Fn::Not':
        case 'Fn::FindInMap':
        case 'Fn::ImportValue':
          throw new UnresolvableError(`${fn} is not supported by the local runtime`);
        default:
          break;
      }
    }
    return Object.fromEntries(entries.map(([k, val]) => [k, resolve(val)]));
  };
  return resolve(value);
}
