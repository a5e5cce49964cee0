import t from 'tap';
import { SerialLane } from '../../../src/server/serial-lane.js';

t.test('jobs run one at a time, in order, with the event loop turning between them', async (t) => {
  const lane = new SerialLane();
  const events: string[] = [];
  const busyFor = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  const a = lane.run(() => {
    events.push('a');
    // Work arriving while a runs (a small review on another connection) is served before b starts.
    setImmediate(() => events.push('other'));
    busyFor(5);
    return 1;
  });
  const b = lane.run(() => {
    events.push('b');
    throw new Error('b failed');
  });
  const c = lane.run(() => {
    events.push('c');
    return 3;
  });
  t.equal(await a, 1);
  await t.rejects(b, /b failed/, 'a failing job rejects its own promise');
  t.equal(await c, 3, 'and the lane goes on');
  t.same(events, ['a', 'other', 'b', 'c']);
});
