/** Prints one closing line, "tests: N passed, N failed", that CI tooling reads regardless of the runner. */
class SummaryLineReporter {
  onRunComplete(_contexts, results) {
    process.stdout.write(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed\n`);
  }
}
module.exports = SummaryLineReporter;
