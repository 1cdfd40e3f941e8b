/**
 * Helpers for the observability tests (issue 14): scrape a `--metrics-port`, check a scrape
 * with the real `promtool check metrics`, read Prometheus sample values, parse JSON log lines.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { Spawned } from '../support/spawn';

export const PROMTOOL = process.env['PROMTOOL'] ?? '/usr/bin/promtool';

/** GET a URL: status and body (never throws on a status; rejects on a connection error or after timeoutMs). */
export function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', c => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** `promtool check metrics` over `text`: its exit code and what it said. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', c => (output += c));
    p.stderr.on('data', c => (output += c));
    p.on('error', reject);
    p.on('close', code => resolve({ code, output }));
    p.stdin.end(text);
  });
}

/** The value of one sample (`name{a="b",...}`, labels in any order), or null when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.keys(labels).length !== Object.keys(got).length) continue;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return null;
}

/** The port a `--metrics-port 127.0.0.1:0` process says it listens on. */
export async function metricsPortOf(p: Spawned, timeoutMs = 10000): Promise<number> {
  const line = await p.waitForLine(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/, timeoutMs);
  return Number(/127\.0\.0\.1:(\d+)\/metrics/.exec(line)![1]);
}

/** A JSON log line as the tests read it. */
export interface JsonLine {
  time: string;
  level: string;
  pid: number;
  message: string;
  scope?: string;
  worker_id?: string;
  job_class?: string;
  queue?: string;
  duration_ms?: number;
}

/** Every non-empty line of `text` parsed as JSON; throws naming the first line that is not. */
export function parseJsonLines(text: string): JsonLine[] {
  return text
    .split('\n')
    .filter(l => l !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as JsonLine;
      } catch {
        throw new Error(`log line ${i + 1} is not JSON: ${l}`);
      }
    });
}
