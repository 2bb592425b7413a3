'use strict';
// Peak GPU memory of given processes for the GPU runs of the P2/P3 benchmarks: polls
// `nvidia-smi --query-compute-apps=pid,used_memory` (what the driver says each process holds: its CUDA context
// plus whatever its allocator reserved) and keeps each pid's maximum. Both sides are measured the same way.
const { execFile } = require('child_process');

function startGpuMemoryPoller(pids, intervalMs = 200) {
  const peakMb = new Map(pids.map((p) => [p, 0]));
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    execFile('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], (err, out) => {
      busy = false;
      if (err) return;
      for (const line of out.trim().split('\n')) {
        const [pid, mb] = line.split(',').map((x) => Number(x.trim()));
        if (peakMb.has(pid)) peakMb.set(pid, Math.max(peakMb.get(pid), mb));
      }
    });
  }, intervalMs);
  timer.unref();
  return { peakMb: (pid) => peakMb.get(pid), stop: () => clearInterval(timer),
    method: 'peak over nvidia-smi --query-compute-apps used_memory polled every 200 ms (CUDA context + allocator reserve)' };
}

module.exports = { startGpuMemoryPoller };
