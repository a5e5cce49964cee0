// Issue 21: --version names the commit: embedded at build, else git, else "unknown".
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { main } from '../../../src/cli/main.js';
import { buildInfo, gitCommit } from '../../../src/release/build-info.js';
import { fakeIO } from '../server/fake-io.js';

t.test('--version prints the version and the commit', async (t) => {
  const io = fakeIO(process.cwd());
  t.equal(await main(['--version'], io), 0);
  const b = buildInfo();
  t.equal(io.out(), `tenant-guard ${b.version} (commit ${b.commit}, node ${process.versions.node})\n`);
  t.match(b.commit, /^([0-9a-f]{7,40}|unknown)$/);
  // This checkout is a git work tree: the commit is found (tsx runs without a build).
  t.equal(b.commit, gitCommit());
});

t.test('outside a git checkout there is no commit to find (the fallback is "unknown")', async (t) => {
  t.equal(gitCommit(mkdtempSync(join(tmpdir(), 'tg-nogit-'))), undefined);
});
