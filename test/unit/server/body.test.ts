import t from 'tap';
import { BodyError, parseJson, tooLargeReview } from '../../../src/server/body.js';

t.test('parseJson: JSON in, a 400 BodyError for what is not JSON or poisons prototypes', async (t) => {
  t.same(parseJson(Buffer.from('{"a":[1,"x"],"constructor":"fine"}')), { a: [1, 'x'], constructor: 'fine' });
  t.same(parseJson(Buffer.from('{"labels":{"constructor":{"name":"c"}}}')), { labels: { constructor: { name: 'c' } } }, 'a constructor key without prototype is data');
  for (const [text, re] of [
    ['{"a":', /not valid JSON/],
    ['{"__proto__":{"polluted":true}}', /"__proto__" key/],
    ['{"x":{"constructor":{"prototype":{"polluted":true}}}}', /"constructor\.prototype" key/],
    // The same keys spelled with JSON escapes, as secure-json-parse also refuses them.
    ['{"a":{"\\u005f_proto__":{"polluted":true}}}', /"__proto__" key/],
    ['{"a":{"__pr\\u006fto__":{"polluted":true}}}', /"__proto__" key/],
    ['{"x":{"\\u0063onstructor":{"prototype":{"polluted":true}}}}', /"constructor\.prototype" key/],
  ] as const) {
    let caught: unknown;
    try {
      parseJson(Buffer.from(text));
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof BodyError, text);
    t.match(caught, { statusCode: 400, message: re });
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});

t.test('tooLargeReview: an AdmissionReview answering the uid with 413', async (t) => {
  t.match(tooLargeReview(10, 'u-1'), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: false, status: { code: 413 } }, code: 'TG_ERR_REVIEW_INVALID' });
  t.equal(tooLargeReview(10, undefined).response.uid, '');
});
