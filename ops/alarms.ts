/**
 * `ops status`'s alarms: those in ALARM that notify the stack's alarm topic. Every alarm of the stack notifies it
 * (lib/observability.ts adds the topic's action to each), so DescribeAlarms' ActionPrefix filter finds exactly the
 * stack's alarms without knowing their generated names. The local runtime runs no CloudWatch: null there.
 */
import { DescribeAlarmsCommand, DescribeAlarmsCommandOutput } from '@aws-sdk/client-cloudwatch';
import { aws, OpsContext } from './context';
import { output } from './stack';

export interface AlarmInAlarm {
  name: string;
  /** Why CloudWatch set it (StateReason). */
  reason?: string;
  /** When it went into ALARM (StateUpdatedTimestamp), ISO. */
  since?: string;
  description?: string;
}

/** The stack's alarms in ALARM; null when the stack runs where there is no CloudWatch (the local runtime). */
export async function alarmsInAlarm(ctx: OpsContext): Promise<AlarmInAlarm[] | null> {
  if (ctx.local) return null;
  const topic = output(ctx.stack, 'AlarmTopicArn');
  const found: AlarmInAlarm[] = [];
  let NextToken: string | undefined;
  do {
    const page: DescribeAlarmsCommandOutput = await aws(ctx, 'DescribeAlarms', () =>
      ctx.clients.cloudwatch.send(new DescribeAlarmsCommand({ StateValue: 'ALARM', ActionPrefix: topic, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken })),
    );
    for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      found.push({
        name: a.AlarmName!,
        ...(a.StateReason ? { reason: a.StateReason } : {}),
        ...(a.StateUpdatedTimestamp ? { since: a.StateUpdatedTimestamp.toISOString() } : {}),
        ...(a.AlarmDescription ? { description: a.AlarmDescription } : {}),
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
