import path from 'node:path';
import { forkingDeploys, nothingLeft } from '../support/forking-deploy';
import { isAlive } from '../../src/activities/containment/proc';
import { forkersOf, linesOf, sparesOf } from '../support/processes';

// A real worker process is SIGKILLed while a step's nested shell runs. More cases (double fork, setsid, the
// reaper killed too, process services, no cgroups) are in deploy-containment.durability.test.ts.
describe('a step does not outlive the worker that ran it', () => {
  const deploys = forkingDeploys();

  it("the issue's nested shell (sh -c 'sh -c \"sleep 6; touch done\"'): gone with the worker, run once by the retry", async () => {
    const done = path.join(deploys.fx.dir, 'nested-done');
    const first = await deploys.worker();
    const handle = await deploys.startForking(`sh -c "sleep 6; echo done >> ${done}"`, done);
    // the worker's forker, and the spare shell it keeps ready, die with the worker too
    const forkers = forkersOf(first.child.pid!);
    expect(forkers).toHaveLength(1);
    const spares = sparesOf(forkers[0]);
    await deploys.kill(first);
    await nothingLeft(done);
    expect([...forkers, ...spares].filter(isAlive)).toEqual([]);
    await deploys.worker();
    expect((await deploys.outcome(handle)).outcome).toBe('succeeded');
    expect(linesOf(done)).toEqual(['done']);
  });
});
