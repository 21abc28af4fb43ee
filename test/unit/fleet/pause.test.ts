import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../shared/config/schema.ts';
import { runControl } from '../../../shared/control/commands.ts';
import { controlCommandSchema } from '../../../shared/control/schema.ts';
import { readRunPause } from '../../../shared/core/run.ts';
import { runInScope } from '../../../shared/core/scope.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';

const ssmMock = mockClient(SSMClient);
const PARAM = '/db-autopilot/paused';
const ssm = () => new SSMClient({ region: 'us-east-1' });

beforeEach(() => {
  ssmMock.reset();
  ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
});

describe('the kill switch of one fleet member account', () => {
  it("control pause with an account sets that account's own parameter, recorded", async () => {
    const store = new MemoryStateStore();
    const result = await runControl(
      { command: 'pause', reason: 'migration', account: '111111111111' },
      {
        ssm: ssm(),
        tagging: {} as never,
        store,
        config: () => configSchema.parse({ version: 1 }),
        loadTuner: async () => undefined,
        pauseParameter: PARAM,
        now: new Date('2026-11-23T12:00:00Z'),
        requestId: 'req-1',
      },
    );
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: `${PARAM}/111111111111`,
      Value: 'true',
    });
    expect(ssmMock).not.toHaveReceivedCommandWith(PutParameterCommand, { Name: PARAM });
    expect(result).toMatchObject({ ok: true, paused: true, parameter: `${PARAM}/111111111111` });
    const [decision] = await store.listDecisions({
      since: '2026-11-23T00:00:00Z',
      until: '2026-11-24T00:00:00Z',
    });
    expect(decision).toMatchObject({ action: 'pause', resource: 'account:111111111111' });
    expect(decision?.reason).toContain('account 111111111111 paused');
  });

  it('rejects an account that is not 12 digits', () => {
    const parsed = controlCommandSchema.safeParse({ command: 'pause', account: '1234' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('12 digits');
  });

  it("a run in a member scope obeys its account's flag; other accounts and the home scope do not", async () => {
    ssmMock
      .on(GetParameterCommand, { Name: `${PARAM}/111111111111` })
      .resolves({ Parameter: { Value: 'true' } });
    const inScope = (account: string) =>
      runInScope({ account, region: 'eu-west-1' }, {}, () => readRunPause(ssm(), PARAM));
    expect((await inScope('111111111111')).paused).toBe(true);
    expect((await inScope('222222222222')).paused).toBe(false);
    expect((await readRunPause(ssm(), PARAM)).paused).toBe(false);
  });

  it('the global flag pauses every scope without reading the account flags', async () => {
    ssmMock.on(GetParameterCommand, { Name: PARAM }).resolves({ Parameter: { Value: 'true' } });
    const state = await runInScope({ account: '222222222222', region: 'us-east-1' }, {}, () =>
      readRunPause(ssm(), PARAM),
    );
    expect(state.paused).toBe(true);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
  });
});
