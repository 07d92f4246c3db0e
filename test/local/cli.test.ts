import { explainStartFailure, parseCli } from '../../local/cli';
import { LOCAL_AUDIENCE, LOCAL_ISSUER_URL } from '../../local/issuer/local-issuer';
import { parseTokenCli, requestToken } from '../../local/token';

describe('npm start options', () => {
  test('defaults: ports 3000 and 4566, data on disk, real time', () => {
    expect(parseCli([])).toMatchObject({ port: 3000, awsPort: 4566, inMemory: false, timeScale: 1, context: {}, dataDir: undefined, useAssembly: undefined });
  });

  test('every flag, -c repeated', () => {
    const parsed = parseCli(['--port', '0', '--aws-port', '4600', '--in-memory', '--time-scale', '60', '--outputs-file', 'o.json', '-c', 'paymentWindowSeconds=30', '-c', 'jwtAudience=a=b', '--sqs-pollers', '5', '--faults', 'local/faults/mild.yaml']);
    expect(parsed).toMatchObject({ port: 0, awsPort: 4600, inMemory: true, timeScale: 60, outputsFile: 'o.json', context: { paymentWindowSeconds: '30', jwtAudience: 'a=b' }, sqsPollers: 5, faults: { seed: 5, rate: 0.05 } });
  });

  test.each([
    [['--port', '70000'], '--port must be a port number'],
    [['--time-scale', '0'], '--time-scale must be a positive number'],
    [['--in-memory', '--data-dir', 'x'], '--in-memory and --data-dir exclude each other'],
    [['-c', 'novalue'], '-c expects key=value'],
    [['--assembly', 'cdk.out', '-c', 'a=b'], 'with --assembly nothing is synthesized'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--sqs-pollers', '0'], '--sqs-pollers must be an integer from 1 to 1000'],
    [['--faults', 'no/such/plan.yaml'], '--faults no/such/plan.yaml: ENOENT'],
    [['--local-jwt', '-c', 'jwtIssuer=https://x.example'], '--local-jwt sets jwtIssuer and jwtAudience itself'],
    [['--local-jwt', '--assembly', 'cdk.out'], '--local-jwt applies to synth'],
  ])('%j is refused with a message naming the problem, exit code 2', (argv, message) => {
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => parseCli(argv as string[])).toThrow('exit 2');
      expect(String(stderr.mock.calls[0][0])).toContain(message);
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
    }
  });

  test('--local-jwt synthesizes the API with a JWT authorizer trusting the local issuer, beside other context', () => {
    expect(parseCli(['--local-jwt', '-c', 'paymentWindowSeconds=30']).context).toEqual({ paymentWindowSeconds: '30', jwtIssuer: LOCAL_ISSUER_URL, jwtAudience: LOCAL_AUDIENCE });
  });

  test('a busy port is explained with the flag that moves it', () => {
    const busy = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port: 4566 });
    expect(explainStartFailure(busy, { port: 3000, awsPort: 4566 })).toBe('port 4566 is already in use (another npm start?): stop that process or choose another with --aws-port 4566');
  });
});

describe('npm run token options', () => {
  test('--sub, repeated --scope, --expires-in (negative with =), --audience, --aws-port', () => {
    expect(parseTokenCli(['--sub', 'c-42', '--scope', 'orders/admin', '--scope', 'orders/payments', '--expires-in=-60', '--audience', 'a', '--aws-port', '4600'])).toEqual({
      body: { sub: 'c-42', scope: ['orders/admin', 'orders/payments'], expiresIn: -60, audience: 'a' },
      awsPort: 4600,
    });
    expect(parseTokenCli(['--sub', 'c-42'])).toEqual({ body: { sub: 'c-42', scope: [], expiresIn: 3600 }, awsPort: 4566 });
  });

  test.each([
    [[], '--sub is required'],
    [['--sub', 'c', '--expires-in', 'soon'], '--expires-in must be a whole number of seconds, got soon'],
    [['--sub', 'c', '--aws-port', '0'], '--aws-port must be a port number'],
    [['--sub', 'c', '--expires-in', '-60'], "To specify an option argument starting with a dash use '--expires-in=-XYZ'"],
    [['--sub', 'c', '--role', 'x'], "Unknown option '--role'"],
  ])('%j is refused with a message naming the problem', (argv, message) => {
    expect(() => parseTokenCli(argv as string[])).toThrow(message);
  });

  test('no runtime on the port: one line saying how to start one', async () => {
    // Port 1 (tcpmux) is never served here: the connection is refused.
    await expect(requestToken({ body: { sub: 'c', scope: [], expiresIn: 60 }, awsPort: 1 })).rejects.toThrow(
      'no local runtime answers on 127.0.0.1:1: start one with npm start -- --local-jwt (or give its --aws-port)',
    );
  });
});
