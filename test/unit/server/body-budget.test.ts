import t from 'tap';
import { BodyBudget, BodyTicket } from '../../../src/server/body-budget.js';

const limits = { totalBytes: 1000, bigTotalBytes: 700, bigBytes: 100, maxSlowBodies: 1, slowAfterMs: 50, minBytesPerSecond: 100, stalledAfterMs: 1000 };

t.test('reservations by declared length; the big share leaves room for small bodies', async (t) => {
  const b = new BodyBudget(limits);
  t.teardown(() => b.close());
  const big1 = b.admit(400) as BodyTicket;
  t.type(big1, BodyTicket);
  t.equal(b.admit(400), 'body_budget', 'a second big body exceeds the big share (800 > 700)');
  const small = Array.from({ length: 6 }, () => b.admit(50));
  t.ok(small.every((s) => s instanceof BodyTicket), 'small bodies still fit: 300 of the total stays theirs');
  t.equal(b.admit(50), 'body_budget', 'the small share (total 1000 - big share 700 = 300) is spent');
  t.equal(b.bytesInFlight, 700);
  big1.release();
  big1.release();
  t.equal(b.bytesInFlight, 300, 'release is idempotent');
  t.type(b.admit(600), BodyTicket);
  t.equal(b.admit(150), 'body_budget', 'a big body cannot take the small share');
});

t.test('chunked bodies reserve as they grow, in the share a declared body of their size would take', async (t) => {
  const b = new BodyBudget(limits);
  t.teardown(() => b.close());
  const c = b.admit(NaN) as BodyTicket;
  t.equal(c.bytes, 0);
  t.ok(c.grow(90), 'small: in the small share');
  t.notOk(c.big);
  t.ok(c.grow(600), 'big now: it moves whole into the big share');
  t.ok(c.big);
  t.notOk(c.grow(701), 'beyond the big share (700), though within the total');
  t.equal(b.bytesInFlight, 600);
  t.ok(Array.from({ length: 6 }, () => b.admit(50)).every((s) => s instanceof BodyTicket), 'the small share (300) is left whole to small bodies');
  const d = b.admit(NaN) as BodyTicket;
  t.notOk(d.grow(200), 'a second chunked body cannot grow into the big share past its limit');
  c.release();
  t.equal(b.bytesInFlight, 300);
  t.ok(d.grow(200), 'freed with the first');
  d.release();
  t.equal(b.bytesInFlight, 300);
});

t.test('small chunked bodies keep to the small share', async (t) => {
  const b = new BodyBudget(limits);
  t.teardown(() => b.close());
  const chunked = Array.from({ length: 4 }, () => b.admit(NaN) as BodyTicket);
  t.ok(chunked.slice(0, 3).every((c) => c.grow(99)), 'three of 99 bytes: 297 of the 300');
  t.notOk(chunked[3]!.grow(99), 'a fourth would pass the small share');
  t.type(b.admit(400), BodyTicket, 'the big share is untouched');
});

t.test('the newest slow bodies beyond maxSlowBodies are cut; finished ones are not slow', async (t) => {
  let now = 0;
  const b = new BodyBudget(limits, () => now);
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  const tickets = ['a', 'b', 'c'].map((name) => {
    const tk = b.admit(10) as BodyTicket;
    tk.subject = name;
    return tk;
  });
  tickets[2]!.subject = undefined; // c has arrived whole and is being judged
  now = 100;
  b.sweep();
  t.same(cut, ['b:slow_bodies'], 'a is the oldest slow body and is kept; b is cut; c is not slow');
  t.equal(b.bodiesInFlight, 2);
  t.ok(tickets[1]!.released);
});

t.test('the sweep frees a ticket whose answer is finished or whose connection went during its body, slow or not', async (t) => {
  let now = 0;
  const b = new BodyBudget(limits, () => now);
  t.teardown(() => b.close());
  const answered = b.admit(100) as BodyTicket;
  answered.response = { writableFinished: true, destroyed: false };
  const gone = b.admit(100) as BodyTicket;
  gone.subject = 'still arriving';
  gone.response = { writableFinished: false, destroyed: true };
  const live = b.admit(100) as BodyTicket;
  live.response = { writableFinished: false, destroyed: false };
  // Arrived whole (no subject), its client gone: the body is still held until judged (the serial lane may keep it).
  const judging = b.admit(100) as BodyTicket;
  judging.response = { writableFinished: false, destroyed: true };
  b.sweep();
  t.ok(answered.released && gone.released, 'both freed at the first sweep, before they could count as slow');
  t.notOk(live.released, 'a request still being answered keeps its reservation');
  t.notOk(judging.released, 'a body waiting to be judged keeps it, its client there or not');
  t.equal(b.bytesInFlight, 200);
  t.equal(b.bodiesInFlight, 2);
});

t.test('a request that finds the budget full cuts the stalled bodies, slowest first, and only as many as it needs', async (t) => {
  let now = 0;
  const b = new BodyBudget(limits, () => now);
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  // The small share is 300: three bodies of 90 and one of 30 fill it.
  const tickets = (['a', 'b', 'c', 'd'] as const).map((name, i) => {
    const tk = b.admit(i === 3 ? 30 : 90) as BodyTicket;
    tk.subject = name;
    return tk;
  });
  now = 500;
  t.equal(b.admit(60), 'body_budget', 'within their first second no body counts as stalled: refused');
  t.same(cut, []);
  now = 2000;
  tickets[0]!.received = 90; // a: arrived at 45 bytes/s (below 100), but is most of the way
  tickets[1]!.received = 0; // b: nothing at all
  tickets[2]!.received = 300; // c: 150 bytes/s, above the minimum rate: the fastest, cut last
  tickets[3]!.received = 10; // d: 5 bytes/s
  const fresh = b.admit(60);
  t.type(fresh, BodyTicket, 'admitted once room was made');
  t.same(cut, ['b:stalled_body'], 'the slowest (nothing arrived) is cut first, and one cut was enough for 60 bytes');
  t.ok(tickets[1]!.released);
  const more = b.admit(100 - 1);
  t.type(more, BodyTicket);
  t.same(cut, ['b:stalled_body', 'd:stalled_body', 'a:stalled_body'], 'then the next slowest, until the newcomer fits');
  t.notOk(tickets[2]!.released, 'the fastest was not needed');
  tickets[2]!.subject = undefined;
  t.equal(b.admit(60), 'body_budget', 'nothing left to cut: refused');
});

t.test('a stalled body is cut only to make room in the share the newcomer needs', async (t) => {
  let now = 0;
  const b = new BodyBudget(limits, () => now);
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  const big = b.admit(600) as BodyTicket;
  big.subject = 'big'; // stalled: nothing arrives
  for (let i = 0; i < 3; i++) b.admit(99); // small bodies (under bigBytes, 100) that arrived whole and are being judged
  now = 5000;
  t.equal(b.admit(50), 'body_budget', 'the small share is full; the total has room');
  t.same(cut, [], 'so the stalled big body is not cut for a small newcomer: it would free nothing the newcomer needs');
  t.type(b.admit(150), BodyTicket, 'a big newcomer that does not fit the big share');
  t.same(cut, ['big:stalled_body'], 'makes room by cutting the stalled big body');
});

t.test('a big newcomer never cuts stalled small bodies, even when the total is spent too (cutting them frees nothing it needs)', async (t) => {
  let now = 0;
  const b = new BodyBudget({ ...limits, slowAfterMs: 10_000 }, () => now); // the big body is on pace (650 bytes within 10 s)
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  // Small share (300) full of stalled small bodies, big share (700) at 650 with a body that is arriving fast.
  const small = ['s1', 's2', 's3'].map((name) => {
    const tk = b.admit(99) as BodyTicket;
    tk.subject = name;
    return tk;
  });
  const bigFast = b.admit(650) as BodyTicket;
  bigFast.subject = 'bigFast';
  now = 5000;
  bigFast.received = 600; // 120 bytes/s: above the minimum rate, never cut
  t.equal(b.admit(100), 'body_budget', 'the big share cannot take 100 more (750 > 700); the total (1047 > 1000) is spent too');
  t.same(cut, [], 'no small body was cut: it could not have made room in the big share');
  t.ok(small.every((s) => !s.released));
  t.equal(b.bytesInFlight, 947);
});

t.test('cuts skip bodies that hold nothing: they cannot make room', async (t) => {
  let now = 0;
  const b = new BodyBudget(limits, () => now);
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  const empty = b.admit(NaN) as BodyTicket; // chunked, nothing yet (or an oversized body, read and dropped: admit(0))
  empty.subject = 'empty';
  const holders = ['h1', 'h2', 'h3'].map((name) => {
    const tk = b.admit(99) as BodyTicket;
    tk.subject = undefined; // arrived whole, being judged
    return tk;
  });
  now = 5000;
  t.equal(b.admit(50), 'body_budget', 'nothing that holds bytes is still arriving');
  t.same(cut, [], 'the empty body was not cut for nothing');
  t.notOk(empty.released);
  t.ok(holders.every((h) => !h.released));
});

t.test('a small body still arriving after the grace is stalled whatever its rate: a trickle above the minimum cannot hold the small share', async (t) => {
  let now = 0;
  // At 10 bytes/s a body of 99 bytes may take 9.9 s: the rate alone let each trickle hold its reservation that long.
  const b = new BodyBudget({ ...limits, minBytesPerSecond: 10, slowAfterMs: 20_000 }, () => now); // big bodies on pace: 600 bytes within 20 s
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  // Three bodies just under bigBytes (100) fill the small share (300).
  const trickles = ['t1', 't2', 't3'].map((name) => {
    const tk = b.admit(99) as BodyTicket;
    tk.subject = name;
    return tk;
  });
  now = 900;
  trickles.forEach((tk) => (tk.received = 18));
  t.equal(b.admit(50), 'body_budget', 'within the grace no body is cut');
  now = 2000;
  trickles.forEach((tk, i) => (tk.received = 40 + i)); // 20 bytes/s and more: twice the minimum rate
  t.type(b.admit(50), BodyTicket, 'the review is admitted');
  t.same(cut, ['t1:stalled_body'], 'by cutting one small body still arriving past the grace, the slowest');
  // A big body keeps the rate rule: one arriving above the minimum rate is not cut for a big newcomer.
  const big = b.admit(600) as BodyTicket;
  big.subject = 'big';
  now = 4000;
  big.received = 100; // 50 bytes/s, above 10
  t.equal(b.admit(200), 'body_budget', 'the big share is full and its body arrives above the minimum rate');
  t.same(cut, ['t1:stalled_body']);
});

t.test('a big body not on pace to arrive within slowAfterMs is stalled, above the minimum rate or not: trickles cannot hold the big share', async (t) => {
  let now = 0;
  // slowAfterMs 5000: a body of 600 bytes must come at 120 bytes/s or more (above the 10 bytes/s minimum).
  const b = new BodyBudget({ ...limits, minBytesPerSecond: 10, slowAfterMs: 5000, maxSlowBodies: 10 }, () => now);
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  const trickle = b.admit(600) as BodyTicket;
  trickle.subject = 'trickle';
  const onPace = b.admit(100) as BodyTicket;
  onPace.subject = 'onPace';
  now = 2000;
  trickle.received = 100; // 50 bytes/s: five times the minimum, yet 12 s for its 600 bytes
  onPace.received = 50; // 25 bytes/s: its 100 bytes within 4 s
  t.type(b.admit(200), BodyTicket, 'a big newcomer is admitted');
  t.same(cut, ['trickle:stalled_body'], 'by cutting the body that would take longer than slowAfterMs to arrive; the one on pace is kept');
  t.notOk(onPace.released);
});

t.test('time the event loop was stuck does not count against a body: its bytes waited for the server, not the client', async (t) => {
  let now = 0;
  const b = new BodyBudget({ ...limits, stalledAfterMs: 500 }, () => now, () => now);
  t.teardown(() => b.close());
  const cut: string[] = [];
  b.onCut = (subject, why) => cut.push(`${String(subject)}:${why}`);
  const arriving = b.admit(600) as BodyTicket;
  arriving.subject = 'arriving';
  arriving.received = 10;
  now = 50;
  b.tick();
  now = 800; // a 700 ms judgement; the newcomer is read before the ticker's late turn
  t.equal(b.admit(200), 'body_budget', 'the body has had 100 ms of server time, within its grace: not cut');
  b.tick();
  t.equal(b.admit(200), 'body_budget', 'nor once the ticker has counted the stall');
  t.same(cut, []);
  for (let at = 850; at <= 1500; at += 50) (now = at), b.tick();
  t.type(b.admit(200), BodyTicket, 'once it has had its grace of server time, it is cut');
  t.same(cut, ['arriving:stalled_body']);
});
