/** Stack-wide cdk-nag acknowledgements: findings about resources shared by many constructs. */
import { Stack } from 'aws-cdk-lib';
import { Tables } from './tables';
import { acknowledge, REASONS } from './nag';

export function acknowledgeNagFindings(stack: Stack, tables: Tables): void {
  const ordersArn = stack.getLogicalId(tables.orders.node.defaultChild as import('aws-cdk-lib').CfnElement);
  acknowledge(stack, { [`AwsSolutions::AwsSolutions-IAM5[Resource::<${ordersArn}.Arn>/index/*]`]: REASONS.gsiWildcard });
}
