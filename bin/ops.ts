/** `npm run ops -- <command>`: the operator's CLI (ops/cli.ts; `npm run ops -- --help`). */
import { runOps } from '../ops/cli';

// The SDK warns on every command that its releases from 2027 will need Node 22: noise between an operator and the
// answer (the runtime's functions run with the same setting). Setting the variable to false brings it back.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runOps(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
