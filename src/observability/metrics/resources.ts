/**
 * What the container may use and how much of it this process uses. Limits come from cgroup v2
 * (`cpu.max`, `memory.max`) or v1 (`cpu.cfs_quota_us`, `memory.limit_in_bytes`) when present, the
 * machine otherwise, and are exported as gauges so PromQL can divide by the same numbers the
 * built-in HighCpu / HighMemory rules use.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import client from 'prom-client';
import { registry } from './metrics.ts';

/** CPU cores and memory bytes available to this container. */
export interface ResourceLimits {
  readonly cpuCores: number;
  readonly memoryBytes: number;
  /** Where the numbers came from. */
  readonly source: 'cgroup2' | 'cgroup1' | 'machine';
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Reads the limits under `root` (default /sys/fs/cgroup); the machine's size fills any gap. */
export function readLimits(
  root = '/sys/fs/cgroup',
  machine = { cpus: os.availableParallelism(), memory: os.totalmem() },
): ResourceLimits {
  let cpu: number | undefined;
  let mem: number | undefined;
  let source: ResourceLimits['source'] = 'machine';
  const cpuMax = read(path.join(root, 'cpu.max'));
  const memMax = read(path.join(root, 'memory.max'));
  if (cpuMax !== undefined || memMax !== undefined) {
    source = 'cgroup2';
    const [quota, period] = (cpuMax ?? 'max').split(/\s+/);
    if (quota !== 'max' && Number(period) > 0) cpu = Number(quota) / Number(period);
    if (memMax && memMax !== 'max') mem = Number(memMax);
  } else {
    const quota = read(path.join(root, 'cpu', 'cpu.cfs_quota_us'));
    const period = read(path.join(root, 'cpu', 'cpu.cfs_period_us'));
    const limit = read(path.join(root, 'memory', 'memory.limit_in_bytes'));
    if (quota !== undefined || limit !== undefined) {
      source = 'cgroup1';
      if (quota && Number(quota) > 0 && Number(period) > 0) cpu = Number(quota) / Number(period);
      if (limit) mem = Number(limit);
    }
  }
  // v1 reports "no limit" as a huge number; anything above the machine is no limit either.
  if (mem === undefined || !Number.isFinite(mem) || mem <= 0 || mem > machine.memory) mem = machine.memory;
  if (cpu === undefined || !Number.isFinite(cpu) || cpu <= 0 || cpu > machine.cpus) cpu = machine.cpus;
  return { cpuCores: cpu, memoryBytes: mem, source };
}

/** Samples this process's CPU share of the container limit between successive calls. */
export class CpuSampler {
  private last: { cpuMicros: number; at: number } | undefined;
  private readonly cores: number;
  private readonly cpuMicros: () => number;
  private readonly now: () => number;

  constructor(cores: number, opts: { cpuMicros?: () => number; now?: () => number } = {}) {
    this.cores = cores;
    this.cpuMicros =
      opts.cpuMicros ??
      (() => {
        const u = process.cpuUsage();
        return u.user + u.system;
      });
    this.now = opts.now ?? (() => performance.now());
  }

  /** Percent (0..100) of the allowed CPU used since the previous call; null on the first call. */
  sample(): number | null {
    const cur = { cpuMicros: this.cpuMicros(), at: this.now() };
    const prev = this.last;
    this.last = cur;
    if (!prev || cur.at <= prev.at) return null;
    const usedMs = (cur.cpuMicros - prev.cpuMicros) / 1000;
    return Math.max(0, (usedMs / (cur.at - prev.at) / this.cores) * 100);
  }
}

/** Resident memory as a percent of the container limit. */
export function memoryPercent(limitBytes: number, rss: () => number = () => process.memoryUsage.rss()): number {
  return (rss() / limitBytes) * 100;
}

let limitGauges: { cpu: client.Gauge; memory: client.Gauge } | undefined;

/** Publishes the limits as `wadi_cpu_limit_cores` and `wadi_memory_limit_bytes` (once per process). */
export function exportLimits(limits: ResourceLimits): void {
  limitGauges ??= {
    cpu: new client.Gauge({
      name: 'wadi_cpu_limit_cores',
      help: 'CPU cores this container may use (cgroup quota, else the machine)',
      registers: [registry],
    }),
    memory: new client.Gauge({
      name: 'wadi_memory_limit_bytes',
      help: 'Memory this container may use (cgroup limit, else the machine)',
      registers: [registry],
    }),
  };
  limitGauges.cpu.set(limits.cpuCores);
  limitGauges.memory.set(limits.memoryBytes);
}
