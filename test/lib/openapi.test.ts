/**
 * The API's OpenAPI document: the committed docs/openapi.json (what the API function serves, and what the suites hold
 * every answer to) and docs/openapi.d.ts are what the code generates (lib/openapi.ts); the document is valid OpenAPI
 * 3.1 (@readme/openapi-parser); and the API function's bundle carries the document, not its generator.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { compileErrors, validate } from '@readme/openapi-parser';
import { ROUTES, routeKey } from '../../functions/api/routes';
import { API_DOCUMENT_FILES, apiDocument, apiDocumentJson } from '../../lib/openapi';
import { BUNDLING } from '../../lib/pipeline-function';
import { DOCUMENTED_OPERATIONS } from '../support/api-contract';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '../..');
const committed = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Fails, saying what to run, when a committed file is not what the code generates. */
function expectGenerated(file: string, generated: string): void {
  const actual = committed(file);
  if (actual === generated) return;
  const [a, g] = [actual.split('\n'), generated.split('\n')];
  const line = a.findIndex((text, i) => text !== g[i]);
  const around = (lines: string[]) => lines.slice(Math.max(0, line - 2), line + 4).map((text, i) => `    ${Math.max(0, line - 2) + i + 1}: ${text}`).join('\n');
  throw new Error(`${file} is not what the code generates: run \`npm run openapi\` (and commit the result).\n  committed:\n${around(a)}\n  generated:\n${around(g)}`);
}

const document = apiDocument();

test(`${API_DOCUMENT_FILES.json} is the document the route table and the schemas generate`, () => {
  expectGenerated(API_DOCUMENT_FILES.json, apiDocumentJson(document));
});

test(`${API_DOCUMENT_FILES.types} holds the types of that document (npm run openapi -- --check)`, async () => {
  // openapi-typescript loads ESM modules jest cannot require: the check runs where `npm run openapi` does.
  const check = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/openapi.ts', '--check'], { cwd: ROOT }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
  expect(check).toEqual({ code: 0, stderr: '' });
});

test('the document is valid OpenAPI 3.1: @readme/openapi-parser finds no error and warns of nothing', async () => {
  // validate() dereferences what it is given: a copy.
  const result = await validate(JSON.parse(apiDocumentJson(document)));
  console.log(`openapi lint (@readme/openapi-parser validate): ${result.valid ? 'valid' : 'INVALID'}, ${result.valid ? 0 : result.errors.length} errors, ${result.warnings.length} warnings${result.valid ? '' : `\n${compileErrors(result)}`}`);
  expect(result).toMatchObject({ valid: true, specification: 'OpenAPI', warnings: [] });
  expect(document.openapi).toMatch(/^3\.1\./);
});

test('one operation per route of the route table, and no other', () => {
  expect([...DOCUMENTED_OPERATIONS].sort()).toEqual(Object.values(ROUTES).map(routeKey).sort());
});

test('the API function bundle carries the committed document, and neither zod-openapi nor openapi-typescript', async () => {
  const result = await build({
    entryPoints: [path.join(ROOT, 'functions/api/handler.ts')],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs).toContain(API_DOCUMENT_FILES.json);
  expect(inputs.filter((input) => /node_modules\/(zod-openapi|openapi-typescript|@readme)\//.test(input))).toEqual([]);
  const documentBytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].inputs[API_DOCUMENT_FILES.json].bytesInOutput;
  console.log(`API function bundle: ${(result.outputFiles[0].contents.length / 1024).toFixed(0)} KiB, of which the document ${(documentBytes / 1024).toFixed(1)} KiB`);
});

test("the README's typed client example is the code the pipeline e2e suite runs (and tsc checks)", () => {
  const suite = committed('test/local/pipeline.e2e.test.ts');
  const region = /\n( *)\/\/ README: typed client\n([\s\S]*?)\n *\/\/ README: end\n/.exec(suite);
  expect(region).not.toBeNull();
  const [, indent, code] = region!;
  const example = code
    .split('\n')
    .map((line) => line.slice(indent.length))
    .join('\n');
  expect(committed('README.md')).toContain(`\`\`\`ts\n${example}\n\`\`\``);
});
