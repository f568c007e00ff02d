// Preloaded with NODE_OPTIONS=--require=… (Node 20 refuses --cpu-prof there): profiles the whole process and
// writes a .cpuprofile into BENCH_PROFILE_DIR when it exits (open it in Chrome DevTools or speedscope). SIGUSR2
// writes the profile so far and goes on profiling: the storm sends it to the replica it is about to SIGKILL.
'use strict';
const inspector = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  const name = () =>
    `${process.env.REPLICA_ID || process.argv[process.argv.length - 1].split('/').slice(-3).join('-')}-${process.pid}.cpuprofile`;
  // Same-thread inspector sessions answer synchronously, so this completes inside an exit or signal handler.
  const write = (restart) =>
    session.post('Profiler.stop', (err, result) => {
      if (err) {
        process.stderr.write(`cpu profile failed: ${err.message}\n`);
        return;
      }
      // The directory the README's commands name need not exist on a fresh machine.
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, name()), JSON.stringify(result.profile));
      if (restart) session.post('Profiler.start');
    });
  process.once('exit', () => write(false));
  process.on('SIGUSR2', () => write(true));
}
