#!/usr/bin/env node
/** The CDK app: typed config from context, the order pipeline stack, and cdk-nag as a gate on synth. */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app-builder';

buildApp(new App());
