/**
 * The browser's operating-system processes, read from /proc (Linux, where vigil runs Chromium).
 * Playwright's `Browser` does not expose its process, so each launch carries a unique marker
 * switch (`--vigil-browser=<id>`, ignored by Chromium) and the process is found by it among this
 * process's children. The watchdog kills the whole tree with SIGKILL; tests read the tree to
 * prove that nothing is left after `close()`.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The marker switch that names one launch. */
export function markerArg(id: string): string {
  return `--vigil-browser=${id}`;
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** process state letter: R, S, D, Z (zombie), T (stopped), … */
  state: string;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  try {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

/** The pid of this process's child whose command line carries `markerArg(id)`; null if none. */
export function findBrowserPid(id: string): number | null {
  const marker = markerArg(id);
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat === null || stat.ppid !== process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes(marker)) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** `root` and every live (non-zombie) descendant of it. Empty when `root` is gone. */
export function processTree(root: number): number[] {
  const stats = allPids().map(readStat).filter((s): s is ProcStat => s !== null);
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const alive = new Set(stats.filter((s) => s.state !== 'Z').map((s) => s.pid));
  const tree: number[] = [];
  const queue = [root];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    if (alive.has(pid)) tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Whether `pid` is a live (non-zombie) process. */
export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/**
 * SIGKILL `root`'s process group (Playwright starts the browser as a group leader) and every
 * descendant found, wherever its group. Processes already gone are skipped.
 */
export function killTree(root: number): void {
  const tree = processTree(root);
  try {
    process.kill(-root, 'SIGKILL');
  } catch {
    // not a group leader any more, or gone
  }
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * SIGKILL every process whose command line mentions `text` (the browser's private directory):
 * Chromium's crash handler double-forks into a session of its own, outside the browser's tree.
 */
export function killMentioning(text: string): void {
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

/** Pids of live processes whose command line mentions `text`. */
export function processesMentioning(text: string): number[] {
  return allPids().filter((pid) => {
    try {
      return pid !== process.pid && isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

/** Resident set size of `root` and its descendants, in bytes (shared pages counted per process). */
export function treeRssBytes(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      if (kb !== undefined) total += Number(kb) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
