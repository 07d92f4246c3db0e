/** `npm run ops -- <command>`: the operator's CLI (ops/cli.ts; `npm run ops -- --help`). */
import { runOps } from '../ops/cli';

runOps(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
