// Prints one plain closing line, "<label>: N passed, N failed[, N skipped]", after vitest's own.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  constructor(private label = 'tests') {}

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    console.log(`\n${this.label}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  }
}
