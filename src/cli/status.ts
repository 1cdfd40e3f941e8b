import type { Status } from '../producer/client';

/** The human form of `pyres-ts status`. */
export function formatStatus(s: Status): string {
  const lines: string[] = [];
  lines.push(`Redis ${s.redis}, namespace ${s.namespace}${s.pausedAll ? '  (PAUSED: pause-all-workers is set)' : ''}`);
  lines.push('');
  lines.push(`Queues (${s.queues.length}):`);
  const qw = Math.max(5, ...s.queues.map(q => q.queue.length));
  for (const q of s.queues) lines.push(`  ${q.queue.padEnd(qw)}  ${q.size}`);
  if (s.queues.length === 0) lines.push('  (none)');
  lines.push('');
  const working = s.workers.filter(w => w.job).length;
  lines.push(`Workers (${s.workers.length}, ${working} working):`);
  const ww = Math.max(6, ...s.workers.map(w => w.id.length));
  for (const w of s.workers) {
    const doing = w.job ? `working on ${w.job.className} from ${w.job.queue} since ${w.job.runAt ?? '?'}` : 'idle';
    lines.push(`  ${w.id.padEnd(ww)}  ${doing}  (processed ${w.processed}, failed ${w.failed})`);
  }
  if (s.workers.length === 0) lines.push('  (none)');
  lines.push('');
  const perQueue = s.failedLists.length > 1;
  lines.push(`Failed jobs: ${s.failed}${perQueue ? ` (${s.failedLists.map(l => `${l.list} ${l.size}`).join(', ')})` : ''}`);
  lines.push(`Processed: ${s.stats.processed}   Failed (stat): ${s.stats.failed}`);
  const l = s.delayed.leader;
  lines.push(
    `Delayed: ${s.delayed.timestamps} timestamp${s.delayed.timestamps === 1 ? '' : 's'}   Scheduler leader: ${l ? `${l.value} (lock TTL ${l.ttl} s)` : 'none'}`,
  );
  return lines.join('\n') + '\n';
}
