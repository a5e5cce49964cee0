import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { FILE_EVENT_DEBOUNCE_MS, FILE_POLL_INTERVAL_MS } from './limits.js';

export interface FileWatchOptions {
  pollMs?: number;
  debounceMs?: number;
  /** fs.watch failed (e.g. the directory went away); polling continues. */
  onWatchError?: (e: Error) => void;
}

export interface FileWatch {
  close(): void;
}

function signature(files: string[]): string {
  return files
    .map((f) => {
      try {
        // stat follows symlinks: a Secret volume's ..data swap changes the inode.
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Call `onChange` (debounced) when any of `files` may have changed.
 *
 * The directories are watched, not the files: Kubernetes updates Secret and
 * ConfigMap volumes by writing a new timestamped directory and renaming the
 * `..data` symlink over the old one (atomic_writer.go in the kubelet), so the
 * watched file's inode never changes in place and a watch on the file itself
 * would go silent after the first update. A poll on stat() backs the watch up
 * on filesystems where fs.watch misses events (some network and overlay
 * filesystems). The callback must tolerate spurious calls.
 */
export function watchFiles(files: string[], onChange: () => void, opts: FileWatchOptions = {}): FileWatch {
  const debounceMs = opts.debounceMs ?? FILE_EVENT_DEBOUNCE_MS;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let last = signature(files);
  // The first event arms a timer; events until it fires join it (a symlink swap is several events).
  // Re-arming on every event instead would let a steady stream of events postpone the reload forever.
  const fire = (): void => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (closed) return;
      last = signature(files);
      onChange();
    }, debounceMs);
    timer.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    try {
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', (e) => opts.onWatchError?.(e));
      watchers.push(w);
    } catch (e) {
      opts.onWatchError?.(e as Error);
    }
  }
  const poll = setInterval(() => {
    if (signature(files) !== last) fire();
  }, opts.pollMs ?? FILE_POLL_INTERVAL_MS);
  poll.unref();

  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
