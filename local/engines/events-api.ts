/** EventBridge's AWS JSON 1.1 API over the local bus: PutEvents, TestEventPattern, ListRules, DescribeRule. */
import { AwsError, AwsJsonResponse, errorResponse, ok } from './aws-json';
import { EventBusEngine, PutEventsEntry, RuleSpec } from './event-bus';
import { testEventPattern } from './event-pattern';

const NAMESPACE = 'com.amazonaws.events';

function describe(rule: RuleSpec) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern ? JSON.stringify(rule.eventPattern) : undefined,
    State: rule.state,
    Description: rule.description,
    EventBusName: rule.eventBusName,
  };
}

export function handleEventsRequest(engine: EventBusEngine, operation: string, body: Record<string, unknown>): AwsJsonResponse {
  try {
    switch (operation) {
      case 'PutEvents': {
        // 1 to 10 entries of at most 1 MB together, else ValidationException (HTTP 400); per-entry errors answer 200.
        return ok(engine.putEvents(body.Entries as PutEventsEntry[]));
      }
      case 'TestEventPattern': {
        if (typeof body.EventPattern !== 'string' || typeof body.Event !== 'string') throw new AwsError('ValidationException', 'EventPattern and Event are required strings');
        try {
          return ok({ Result: testEventPattern(body.EventPattern, body.Event) });
        } catch (error) {
          const e = error as Error;
          throw new AwsError(e.name === 'InvalidEventPatternException' ? 'InvalidEventPatternException' : 'ValidationException', e.message);
        }
      }
      case 'ListRules': {
        const bus = engine.busNameOf(body.EventBusName as string | undefined);
        if (!engine.hasBus(bus)) throw new AwsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
        return ok({ Rules: engine.listRules(bus, body.NamePrefix as string | undefined).map(describe) });
      }
      case 'DescribeRule': {
        const bus = engine.busNameOf(body.EventBusName as string | undefined);
        const rule = engine.describeRule(String(body.Name ?? ''), bus);
        if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${String(body.Name)} does not exist on EventBus ${bus}.`);
        return ok(describe(rule));
      }
      default:
        throw new AwsError('UnknownOperationException', `EventBridge operation ${operation} is not supported by the local runtime`);
    }
  } catch (error) {
    return errorResponse(error, NAMESPACE);
  }
}
