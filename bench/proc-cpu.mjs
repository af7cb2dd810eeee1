// CPU time of processes from Linux /proc, for the benchmarks' CPU-per-operation figures (the
// process's own accounting, unaffected by what else the machine runs).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** utime + stime of `pid` in clock ticks (10 ms each), or null when the process is gone. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** cpuTicks of `pid` and of its direct children (those of any of its threads); processes gone count 0. */
export function treeTicks(pid) {
  let sum = cpuTicks(pid) ?? 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (children) for (const child of children.split(/\s+/)) sum += cpuTicks(Number(child)) ?? 0;
    }
  } catch {
    // gone
  }
  return sum;
}

/** Context switches of all of `pid`'s threads so far (voluntary: it slept; involuntary: preempted), or null when it is gone. */
export function contextSwitches(pid) {
  try {
    let voluntary = 0;
    let involuntary = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
      voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
    return { voluntary, involuntary };
  } catch {
    return null;
  }
}

/** Whether the benchmarks can pin processes to CPUs 0 and 1: two cores or more and `taskset` on the PATH. */
export function canPinCpus() {
  if (cpus().length < 2) return false;
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
